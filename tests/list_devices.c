/* Prints one line per OpenCL device, "INDEX<TAB>NAME (PLATFORM)", for
 * tests/each_device.sh. Nothing (and exit 0) when there is no device; exit 1
 * when the devices cannot be listed. */
#include <stdio.h>

#include "lstmcl.h"

int main(void)
{
    size_t count = 0;
    if (lstmcl_device_count(&count) != LSTMCL_SUCCESS) {
        fprintf(stderr, "list_devices: %s\n", lstmcl_thread_last_error());
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        lstmcl_device_info info;
        if (lstmcl_device_get_info(i, &info) != LSTMCL_SUCCESS) {
            fprintf(stderr, "list_devices: device %zu: %s\n", i, lstmcl_thread_last_error());
            return 1;
        }
        printf("%zu\t%s (%s)\n", i, info.name, info.platform);
    }
    return 0;
}
