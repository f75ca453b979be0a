/* lstmcl: a session's stream state. Built after lstm_common.cl. */

/* A session's stream state (lstmcl_session): moves each layer's h rows
 * (HOUT floats) and c rows (HID floats) between the slot-indexed state,
 * layers x slots_total rows, and a call's packed rows, layers x n rows in
 * the order of `slots`. to_slots 0 gathers (state -> packed), 1 scatters
 * (packed -> state), both arrays in one launch so that a call's state moves
 * whole or not at all. Global size (max(HOUT, HID), n, layers), any local
 * size; the slots of one call are distinct, so no two items write one
 * float. */
__kernel void lstm_move_state(__global float *restrict h_slots, __global float *restrict c_slots,
                              __global float *restrict h_packed,
                              __global float *restrict c_packed,
                              __global const int *restrict slots, const int n,
                              const int slots_total, const int to_slots)
{
    const int j = get_global_id(0), k = get_global_id(1), l = get_global_id(2);
    if (k >= n)
        return;
    const long row = (long)l * n + k, srow = (long)l * slots_total + slots[k];
    if (j < HOUT) {
        if (to_slots)
            h_slots[srow * HOUT + j] = h_packed[row * HOUT + j];
        else
            h_packed[row * HOUT + j] = h_slots[srow * HOUT + j];
    }
    if (j < HID) {
        if (to_slots)
            c_slots[srow * HID + j] = c_packed[row * HID + j];
        else
            c_packed[row * HID + j] = c_slots[srow * HID + j];
    }
}
