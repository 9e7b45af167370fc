/*
 * libtorch's CPU build links Intel MKL statically, and MKL picks its GEMM kernels by CPU vendor: on an AMD CPU
 * it takes its AVX2 path even when the CPU has AVX-512. MKL asks mkl_serv_intel_cpu_true() which vendor it runs
 * on; libtorch_cpu.so exports that symbol, so this one-line library, preloaded, makes MKL dispatch on the CPU's
 * feature flags alone (the AVX-512 kernels run correctly on AMD CPUs that have AVX-512). Measured on a 2-core
 * AMD EPYC with AVX-512, one thread: fp32 matmul at MiniLM's shapes 2-4x faster (docs/benchmarks.md).
 * Built and preloaded by scripts/lib/mkl-amd.sh; KILN_MKL_AMD=0 turns it off.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
