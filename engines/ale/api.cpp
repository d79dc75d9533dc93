// The Arcade Learning Environment's C API for the page (web/page/envs/atari/engine.js): ale-py's ALEInterface
// (ALE 0.12.1, compiled from the pinned PyPI sources by `make engines`) as plain functions over pointers.
// The emulator, RNG, sticky actions and palettes are ALE's own code; this file only adapts it to a page that
// has no files: the ROM arrives as bytes (ale_rom_buffer, then ale_load_rom) and ALE's gzopen/gzread and
// fs::exists read that buffer instead of a file system.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "ale/ale_interface.hpp"
#include "ale/common/ScreenExporter.hpp"

#define API(name) extern "C" __attribute__((export_name(#name)))

using ale::ALEInterface;

// ---- the ROM: one cartridge image in memory, under the file name the page gives it (ALE finds the game's
// RomSettings by its MD5, or else by the file name's stem, as ale-py's roms/<game>.bin)
static uint8_t* rom_bytes = nullptr;
static int32_t rom_size = 0;
static std::string rom_name;

struct rom_reader {
  int32_t pos;
};

extern "C" gzFile gzopen(const char* path, const char*) {
  if (!rom_bytes || rom_name != path) return nullptr;
  return new rom_reader{0};
}
extern "C" int gzread(gzFile f, void* buf, unsigned len) {
  int32_t n = rom_size - f->pos < (int32_t)len ? rom_size - f->pos : (int32_t)len;
  memcpy(buf, rom_bytes + f->pos, n);
  f->pos += n;
  return n;
}
extern "C" int gzclose(gzFile f) {
  delete f;
  return 0;
}
// ale_interface.cpp checks that the ROM file exists before opening it (engines/ale/include/wasi_fs.h); ALE takes
// a ROM's file name stem (OSystem, Roms.cpp), which zig's WASI libc++ declares but does not build: here it is
// std::filesystem's rule (the file name up to its last dot; "." and ".." and dot files are their own stem)
namespace std::filesystem {
bool exists(const path& p) { return rom_bytes && p.string() == rom_name; }
}  // namespace std::filesystem
std::filesystem::path::__string_view std::filesystem::path::__stem() const {
  __string_view p(__pn_);
  size_t slash = p.rfind('/');
  __string_view name = slash == __string_view::npos ? p : p.substr(slash + 1);
  if (name == "." || name == "..") return name;
  size_t dot = name.rfind('.');
  return dot == __string_view::npos || dot == 0 ? name : name.substr(0, dot);
}

// Stella's environment builds a ScreenExporter only when the setting record_screen_dir names a folder (PNG
// files); the page never sets it, so ALE's exporter (and the zlib it needs) stays out
ale::ScreenExporter::ScreenExporter(ColourPalette& palette, const std::string&) : m_palette(palette) {
  abort();
}
void ale::ScreenExporter::saveNext(const ALEScreen&) { abort(); }

// ALE throws on bad settings and unknown ROMs; zig's WASI C++ runtime cannot unwind, so a throw stops the
// module (a trap the page reports). The page passes only settings and ROMs it checked.
extern "C" void* __cxa_allocate_exception(size_t n) { return malloc(n); }
extern "C" [[noreturn]] void __cxa_throw(void*, void*, void (*)(void*)) { abort(); }

// ---- memory for strings and arrays passed in and out
API(mem_alloc) void* mem_alloc(int32_t n) { return malloc(n); }
API(mem_free) void mem_free(void* p) { free(p); }

/** Room for a ROM of n bytes named `name` (the page copies the bytes in, then calls ale_load_rom). */
API(ale_rom_buffer) uint8_t* ale_rom_buffer(int32_t n, const char* name) {
  free(rom_bytes);
  rom_bytes = (uint8_t*)malloc(n);
  rom_size = n;
  rom_name = name;
  return rom_bytes;
}

API(ale_new) ALEInterface* ale_new() {
  ale::Logger::setMode(ale::Logger::Error);
  return new ALEInterface();
}
API(ale_delete) void ale_delete(ALEInterface* a) { delete a; }

// settings, by name as ale-py's setInt/setFloat/setBool (applied by the next ale_load_rom)
API(ale_set_int) void ale_set_int(ALEInterface* a, const char* key, int32_t v) { a->setInt(key, v); }
API(ale_set_float) void ale_set_float(ALEInterface* a, const char* key, float v) { a->setFloat(key, v); }
API(ale_set_bool) void ale_set_bool(ALEInterface* a, const char* key, int32_t v) { a->setBool(key, v != 0); }

/** Load the ROM the page copied in (and reset the game), as ale-py's loadROM(path). */
API(ale_load_rom) void ale_load_rom(ALEInterface* a) { a->loadROM(rom_name); }
API(ale_reset) void ale_reset(ALEInterface* a) { a->reset_game(); }
/** One emulated frame of `action` (an ALE action id); returns its reward. */
API(ale_act) int32_t ale_act(ALEInterface* a, int32_t action, float strength) {
  return a->act((ale::Action)action, strength);
}
API(ale_game_over) int32_t ale_game_over(ALEInterface* a, int32_t with_truncation) {
  return a->game_over(with_truncation != 0);
}
API(ale_truncated) int32_t ale_truncated(ALEInterface* a) { return a->game_truncated(); }
API(ale_lives) int32_t ale_lives(ALEInterface* a) { return a->lives(); }
API(ale_frame) int32_t ale_frame(ALEInterface* a) { return a->getEpisodeFrameNumber(); }
API(ale_set_mode) void ale_set_mode(ALEInterface* a, int32_t m) { a->setMode(m); }
API(ale_set_difficulty) void ale_set_difficulty(ALEInterface* a, int32_t d) { a->setDifficulty(d); }

/** The game's minimal (full = 0) or full (full = 1) action set, as ALE action ids into out; returns the count. */
API(ale_actions) int32_t ale_actions(ALEInterface* a, int32_t full, int32_t* out) {
  ale::ActionVect v = full ? a->getLegalActionSet() : a->getMinimalActionSet();
  for (size_t i = 0; i < v.size(); i++) out[i] = v[i];
  return (int32_t)v.size();
}

API(ale_screen_width) int32_t ale_screen_width(ALEInterface* a) { return a->getScreen().width(); }
API(ale_screen_height) int32_t ale_screen_height(ALEInterface* a) { return a->getScreen().height(); }
/** The screen as getScreenRGB (height x width x 3) or getScreenGrayscale (height x width) writes it. */
API(ale_screen_rgb) void ale_screen_rgb(ALEInterface* a, uint8_t* out) {
  const ale::ALEScreen& s = a->getScreen();
  a->theOSystem->colourPalette().applyPaletteRGB(out, s.getArray(), s.width() * s.height());
}
API(ale_screen_gray) void ale_screen_gray(ALEInterface* a, uint8_t* out) {
  const ale::ALEScreen& s = a->getScreen();
  a->theOSystem->colourPalette().applyPaletteGrayscale(out, s.getArray(), s.width() * s.height());
}

/** The console's 128 bytes of RAM (getRAM) into out; setRAM of one byte (a game variable: a perturbation). */
API(ale_ram) void ale_ram(ALEInterface* a, uint8_t* out) {
  const ale::ALERAM& r = a->getRAM();
  memcpy(out, r.array(), r.size());
}
API(ale_set_ram) void ale_set_ram(ALEInterface* a, int32_t index, int32_t value) {
  a->setRAM(index, (ale::byte_t)value);
}
