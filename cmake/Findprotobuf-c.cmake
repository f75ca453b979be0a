# Finds protobuf-c, the C runtime of Protocol Buffers, which Debian ships
# without a CMake package (libprotobuf-c-dev), and its code generator.
#
#   protobuf-c::protobuf-c   imported library; includes <protobuf-c/protobuf-c.h>
#   PROTOBUF_C_PROTOC        protoc-c (protobuf-c-compiler), when installed:
#                            building lstmcl needs it, using lstmcl does not
#
# Installed beside lstmclConfig.cmake, which uses it for a static lstmcl.
find_path(PROTOBUF_C_INCLUDE_DIR protobuf-c/protobuf-c.h)
find_library(PROTOBUF_C_LIBRARY NAMES protobuf-c)
find_program(PROTOBUF_C_PROTOC NAMES protoc-c protoc-gen-c)
mark_as_advanced(PROTOBUF_C_INCLUDE_DIR PROTOBUF_C_LIBRARY PROTOBUF_C_PROTOC)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(protobuf-c
  REQUIRED_VARS PROTOBUF_C_LIBRARY PROTOBUF_C_INCLUDE_DIR)

if(protobuf-c_FOUND AND NOT TARGET protobuf-c::protobuf-c)
  add_library(protobuf-c::protobuf-c UNKNOWN IMPORTED)
  set_target_properties(protobuf-c::protobuf-c PROPERTIES
    IMPORTED_LOCATION "${PROTOBUF_C_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${PROTOBUF_C_INCLUDE_DIR}")
endif()
