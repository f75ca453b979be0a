# Writes OUT: the text of IN as a C byte array named NAME (NUL-terminated),
# so that build-log line numbers match the .cl file.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR n "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT}.tmp "/* Generated from ${IN} by bench/embed.cmake. */\n#include <stddef.h>\nconst unsigned char ${NAME}[${n} + 1] = {\n${bytes}0x00};\nconst size_t ${NAME}_size = ${n};\n")
file(RENAME ${OUT}.tmp ${OUT})
