// The one translation unit that compiles stb_image and stb_image_write (Debian's libstb-dev headers)
// for advx's own use: the PNG images a user gives (engine/io/image.h) and stb's inflater (gzip, and
// png_check's bounded inflate). Nothing else in advx (frontend included) may define these
// implementation macros again; the one exception is engine/data/dataset_jpeg.cpp, a private
// JPEG-only copy (STB_IMAGE_STATIC) for sha256-checked dataset files.
//
// STBI_ONLY_PNG: user-supplied files reach the PNG decoder and nothing else. stb 2.27's other
// loaders are unsafe on crafted input (its JPEG writes past a Huffman table on a crafted DHT
// segment, UBSan at stb_image.h:1990; a truncated PNM decodes to uninitialised memory with no
// error; BMP, GIF, PSD, TGA, HDR and PIC are neither needed nor fuzzed here). tests/unit/test_io.cpp
// checks that each of them is refused, tests/fuzz/fuzz_image.cpp fuzzes what remains.
// STBI_NO_STDIO: every byte comes through advx::read_file (size cap, clear errors), never stb's fopen.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
