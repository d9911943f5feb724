/* test_probe_machine_reports_rates.c - glimpse_probe_machine measures
 * positive read bandwidth and multiply-add rates on the threads asked for,
 * names the kernel version, and refuses unusable arguments. Only that the
 * probes run is checked, never how fast: speed is docs/PERF.md's business. */
#include "glimpse.h"
#include "test.h"

int main(void) {
    glimpse_machine m;
    CHECK(glimpse_probe_machine(2, 1 << 20, &m) == GLIMPSE_OK);
    CHECK(m.n_threads == 2);
    CHECK(m.read_bytes_per_s > 0 && m.f32_flops > 0 && m.int8_ops > 0);
    CHECK(m.kernels && (!strcmp(m.kernels, "amx") || !strcmp(m.kernels, "avx512") || !strcmp(m.kernels, "avx2") ||
                        !strcmp(m.kernels, "scalar")));
    /* The tile unit is probed exactly where glimpse uses it. */
    CHECK(!strcmp(m.kernels, "amx") ? m.tile_int8_ops > 0 && m.tile_bf16_flops > 0
                                    : m.tile_int8_ops == 0 && m.tile_bf16_flops == 0);
    CHECK(glimpse_probe_machine(1, 4096, &m) == GLIMPSE_OK && m.n_threads == 1);
    CHECK_ERROR(glimpse_probe_machine(1, 100, &m), GLIMPSE_ERR_INVALID_ARG, "buffer");
    CHECK_ERROR(glimpse_probe_machine(1, 0, NULL), GLIMPSE_ERR_INVALID_ARG, "NULL");
    TEST_DONE();
}
