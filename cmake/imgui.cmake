# Dear ImGui (core + SDL2 and OpenGL3 backends) as a static library `imgui`, compiled from the
# Debian source package that scripts/bootstrap unpacks into the cache (never copied into the repo).
#
#   native: Debian's SDL2 (find_package) and desktop OpenGL (ImGui's own GL loader)
#   web:    SDL2 built for wasm by scripts/bootstrap ($ADVX_CACHE/sdl2-wasm), WebGL2 via GLES3
#
# Input: ADVX_CACHE (default $ENV{ADVX_CACHE} or $ENV{HOME}/.cache/advx).
include_guard(GLOBAL)

if(NOT ADVX_CACHE)
  if(DEFINED ENV{ADVX_CACHE})
    set(ADVX_CACHE "$ENV{ADVX_CACHE}")
  else()
    set(ADVX_CACHE "$ENV{HOME}/.cache/advx")
  endif()
endif()
set(ADVX_CACHE "${ADVX_CACHE}" CACHE PATH "advx bootstrap cache (Dear ImGui source, SDL2 for wasm)")

set(ADVX_IMGUI_DIR "${ADVX_CACHE}/src/imgui")
if(NOT EXISTS "${ADVX_IMGUI_DIR}/imgui.cpp" OR NOT EXISTS "${ADVX_IMGUI_DIR}/backends/imgui_impl_sdl.cpp")
  message(FATAL_ERROR "Dear ImGui source not found in ${ADVX_IMGUI_DIR}: run scripts/bootstrap "
                      "(or pass -DADVX_CACHE=<its cache dir>)")
endif()

if(EMSCRIPTEN)
  set(ADVX_SDL2_WASM "${ADVX_CACHE}/sdl2-wasm")
  if(NOT EXISTS "${ADVX_SDL2_WASM}/lib/cmake/SDL2/SDL2Config.cmake")
    message(FATAL_ERROR "SDL2 for wasm not found in ${ADVX_SDL2_WASM}: run scripts/bootstrap")
  endif()
  # The Emscripten toolchain confines find_package to its sysroot; point it at the cache explicitly.
  set(SDL2_DIR "${ADVX_SDL2_WASM}/lib/cmake/SDL2")
  find_package(SDL2 REQUIRED CONFIG NO_DEFAULT_PATH PATHS "${ADVX_SDL2_WASM}" NO_CMAKE_FIND_ROOT_PATH)
  set(ADVX_SDL2_TARGET SDL2::SDL2-static)
else()
  find_package(SDL2 REQUIRED)
  find_package(OpenGL REQUIRED)
  if(TARGET SDL2::SDL2)
    set(ADVX_SDL2_TARGET SDL2::SDL2)
  else()  # old-style SDL2 config without imported targets
    add_library(advx_sdl2 INTERFACE)
    target_include_directories(advx_sdl2 INTERFACE ${SDL2_INCLUDE_DIRS})
    target_link_libraries(advx_sdl2 INTERFACE ${SDL2_LIBRARIES})
    set(ADVX_SDL2_TARGET advx_sdl2)
  endif()
endif()

# advx_imgui_library(name sdl_target): ImGui with its SDL2 + OpenGL3 backends, against sdl_target.
function(advx_imgui_library name sdl_target)
  add_library(${name} STATIC
    ${ADVX_IMGUI_DIR}/imgui.cpp
    ${ADVX_IMGUI_DIR}/imgui_draw.cpp
    ${ADVX_IMGUI_DIR}/imgui_tables.cpp
    ${ADVX_IMGUI_DIR}/imgui_widgets.cpp
    ${ADVX_IMGUI_DIR}/imgui_demo.cpp
    ${ADVX_IMGUI_DIR}/backends/imgui_impl_sdl.cpp
    ${ADVX_IMGUI_DIR}/backends/imgui_impl_opengl3.cpp)
  # SYSTEM: third-party headers must not trip the project's warning flags.
  target_include_directories(${name} SYSTEM PUBLIC ${ADVX_IMGUI_DIR} ${ADVX_IMGUI_DIR}/backends)
  target_compile_definitions(${name} PUBLIC IMGUI_DISABLE_OBSOLETE_FUNCTIONS)
  target_link_libraries(${name} PUBLIC ${sdl_target})
  if(EMSCRIPTEN)
    # ImGui assumes WebGL1 (GLES2) on Emscripten unless told otherwise.
    target_compile_definitions(${name} PUBLIC IMGUI_IMPL_OPENGL_ES3)
    target_compile_options(${name} PRIVATE $<$<BOOL:${ADVX_WASM_SIMD}>:-msimd128>)
    target_link_options(${name} PUBLIC -sUSE_SDL=0 -sMIN_WEBGL_VERSION=2 -sMAX_WEBGL_VERSION=2)
  else()
    target_link_libraries(${name} PUBLIC OpenGL::GL ${CMAKE_DL_LIBS})
  endif()
endfunction()

advx_imgui_library(imgui ${ADVX_SDL2_TARGET})

# The threaded web build (ADVX_WASM_THREADS): ImGui and SDL2 compiled with -pthread, SDL2 from
# $ADVX_CACHE/sdl2-wasm-mt (scripts/bootstrap), as an imported library of its own (SDL2's config
# would define the same target names as the single-threaded one's).
if(EMSCRIPTEN AND ADVX_WASM_THREADS)
  set(ADVX_SDL2_WASM_MT "${ADVX_CACHE}/sdl2-wasm-mt")
  if(NOT EXISTS "${ADVX_SDL2_WASM_MT}/lib/libSDL2.a")
    message(FATAL_ERROR "SDL2 for wasm with pthreads not found in ${ADVX_SDL2_WASM_MT}: run scripts/bootstrap "
                        "(or configure with -DADVX_WASM_THREADS=OFF)")
  endif()
  add_library(advx_sdl2_mt STATIC IMPORTED)
  set_target_properties(advx_sdl2_mt PROPERTIES IMPORTED_LOCATION "${ADVX_SDL2_WASM_MT}/lib/libSDL2.a"
                        INTERFACE_INCLUDE_DIRECTORIES "${ADVX_SDL2_WASM_MT}/include;${ADVX_SDL2_WASM_MT}/include/SDL2"
                        INTERFACE_COMPILE_OPTIONS -pthread INTERFACE_LINK_OPTIONS -pthread)
  advx_imgui_library(imgui_mt advx_sdl2_mt)
  target_compile_options(imgui_mt PRIVATE -pthread)
endif()
