# Writes OUT: one byte array per kernel file in FILES ('|'-separated) plus a
# lookup table.
# Byte arrays (not string literals) keep the text exact, so build-log line
# numbers match the .cl files.
set(body "/* Generated from the kernels folder by cmake/embed_kernels.cmake. */\n#include <stddef.h>\n")
set(table "")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  string(MAKE_C_IDENTIFIER ${name} id)
  file(READ ${f} hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR n "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
  string(APPEND body "static const unsigned char k_${id}[${n} + 1] = {\n${bytes}0x00};\n")
  string(APPEND table "    {\"${name}\", (const char *)k_${id}, ${n}},\n")
endforeach()
string(APPEND body "struct lstmcl_embedded_kernel { const char *name; const char *text; size_t size; };\n")
string(APPEND body "const struct lstmcl_embedded_kernel lstmcl_embedded_kernels[] = {\n${table}    {NULL, NULL, 0}\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
