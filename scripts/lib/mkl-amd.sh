# Sourced by the launchers (scripts/kiln, scripts/bench-*): on an AMD CPU with AVX-512, preloads
# scripts/lib/mkl-amd.c (built once with cc into $KILN_HOME/cache) so libtorch's MKL uses its AVX-512 GEMM
# kernels instead of the AVX2 ones it picks for any non-Intel CPU. KILN_MKL_AMD=0 turns it off; without a C
# compiler it says so once per build and runs unchanged. Sets kiln_mkl_amd to "on" or the reason it is off.
kiln_mkl_amd="off"
kiln_mkl_amd_setup() {
  local src="$root/scripts/lib/mkl-amd.c" lib="${KILN_HOME:-$HOME/.kiln}/cache/libkiln-mkl-amd.so"
  if [[ "${KILN_MKL_AMD:-1}" == 0 ]]; then kiln_mkl_amd="off (KILN_MKL_AMD=0)"; return 0; fi
  grep -q -m1 AuthenticAMD /proc/cpuinfo 2>/dev/null || { kiln_mkl_amd="off (not an AMD CPU)"; return 0; }
  grep -q -m1 -w avx512f /proc/cpuinfo || { kiln_mkl_amd="off (no AVX-512)"; return 0; }
  if [[ ! -f "$lib" || "$src" -nt "$lib" ]]; then
    local cc_bin
    cc_bin=$(command -v cc || command -v gcc || true)
    if [[ -z "$cc_bin" ]]; then
      kiln_mkl_amd="off (no C compiler to build $lib)"
      echo "kiln: note: no C compiler, so libtorch's MKL keeps its slower AVX2 path on this AMD CPU (scripts/lib/mkl-amd.c)" >&2
      return 0
    fi
    mkdir -p "$(dirname "$lib")"
    "$cc_bin" -shared -fPIC -O2 -o "$lib.tmp.$$" "$src" && mv -f "$lib.tmp.$$" "$lib" \
      || { rm -f "$lib.tmp.$$"; kiln_mkl_amd="off (build of $lib failed)"; return 0; }
  fi
  case ":${LD_PRELOAD:-}:" in *":$lib:"*) ;; *) export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" ;; esac
  kiln_mkl_amd="on"
}
kiln_mkl_amd_setup
