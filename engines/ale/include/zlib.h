// <zlib.h> for ALE on the page: OSystem::openROM reads the cartridge with gzopen/gzread/gzclose (a file, gzipped
// or not). The page has no files: engines/ale/api.cpp implements these three over the ROM bytes the page
// handed it (ale_load_rom), so no zlib is compiled in.
#ifndef ALE_WASI_ZLIB_H
#define ALE_WASI_ZLIB_H
#ifdef __cplusplus
extern "C" {
#endif
typedef struct rom_reader* gzFile;
gzFile gzopen(const char* path, const char* mode);
int gzread(gzFile file, void* buf, unsigned len);
int gzclose(gzFile file);
#ifdef __cplusplus
}
#endif
#endif
