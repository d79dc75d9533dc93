// Forced into ale_interface.cpp (-include): zig's WASI libc++ declares std::filesystem::path but not exists()
// (no file system). engines/ale/api.cpp defines it: true only for the in-memory ROM's name.
#include <filesystem>
namespace std::filesystem {
bool exists(const path& p);
}  // namespace std::filesystem
