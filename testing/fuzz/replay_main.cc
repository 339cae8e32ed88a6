// Runs the fuzz target over files, as an ordinary test: each argument is a
// file or a directory of files (the corpus). Used wherever libFuzzer is not
// linked in (every configuration but --config=fuzz).
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

namespace {

int RunFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                         bytes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    struct stat info;
    if (stat(path.c_str(), &info) != 0) {
      std::fprintf(stderr, "replay: no such file or directory: %s\n",
                   path.c_str());
      return 1;
    }
    if (!S_ISDIR(info.st_mode)) {
      if (RunFile(path) != 0) return 1;
      ++files;
      continue;
    }
    DIR* dir = opendir(path.c_str());
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (RunFile(path + "/" + name) != 0) return 1;
      ++files;
    }
    closedir(dir);
  }
  std::printf("replay: %d inputs, no finding\n", files);
  return files > 0 ? 0 : 1;
}
