// The one translation unit that compiles stb_image and stb_image_write (Debian's libstb-dev headers)
// for advx's own use: PNG (and BMP, GIF, ...) images a user gives, and stb's inflater for gzip.
// Nothing else in advx (frontend included) may define these implementation macros again; the one
// exception is engine/data/dataset_jpeg.cpp, a private JPEG-only copy (STB_IMAGE_STATIC) for
// sha256-checked dataset files.
// STBI_NO_JPEG: user-supplied files never reach a JPEG decoder (see engine/data/dataset_jpeg.h).
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
#define STBI_NO_JPEG
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
