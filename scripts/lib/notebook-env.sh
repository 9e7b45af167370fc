# Sourced by scripts/notebook and scripts/run-notebooks: what a Java notebook needs, set up once.
#   kiln_jupyter_nbconvert  Debian packages for headless runs (apt-get as root), or a hint and exit 1
#   kiln_java_kernel        rapaio-jupyter-kernel jar (Maven) + a private "java" kernelspec, put first on JUPYTER_PATH
#   kiln_fat_jar            target/kiln-VERSION-all.jar, rebuilt when older than the sources; sets kiln_fat
# Expects $root (the checkout); say() prints to stderr with the caller's name.
home="${KILN_HOME:-$HOME/.kiln}"
jdir="$home/jupyter"
kernel_version=2.3.0
kernel_jar="$jdir/rapaio-jupyter-kernel-$kernel_version.jar"
# the Debian packages of a headless run (nbconvert pulls in about 50 more: jinja2, bleach, traitlets, zmq, ...)
kiln_nbconvert_pkgs=(jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel)

kiln_jupyter_nbconvert() {
  if command -v jupyter-nbconvert >/dev/null 2>&1 && jupyter nbconvert --version >/dev/null 2>&1; then return 0; fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing ${kiln_nbconvert_pkgs[*]} and their dependencies (apt-get, about 50 Debian packages, 1-2 minutes once)"
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${kiln_nbconvert_pkgs[@]}" >&2
  else
    say "needs jupyter nbconvert: sudo apt-get install ${kiln_nbconvert_pkgs[*]} (or pip install nbconvert nbclient)"; exit 1
  fi
}

kiln_java_kernel() {
  mkdir -p "$jdir"
  if [[ ! -f "$kernel_jar" ]]; then
    say "fetching io.github.padreati:rapaio-jupyter-kernel:$kernel_version (Maven)"
    (cd "$root" && mvn -q -B dependency:copy -Dartifact="io.github.padreati:rapaio-jupyter-kernel:$kernel_version" \
       -DoutputDirectory="$jdir" -Dmdep.overWriteReleases=false >&2) || { say "could not fetch the kernel jar"; exit 1; }
  fi
  local spec="$jdir/spec/java"
  mkdir -p "$spec"
  # Same JVM settings as scripts/kiln; the kernel evaluates cells in its own JVM (JShell, local execution).
  cat > "$spec/kernel.json.tmp" <<JSON
{
  "argv": ["java", "-Xmx6g", "-XX:MaxDirectMemorySize=6g", "-Dai.djl.offline=true", "-Djava.awt.headless=true",
           "-jar", "$kernel_jar", "{connection_file}"],
  "display_name": "Java (Kiln, rapaio-jupyter-kernel $kernel_version)",
  "language": "java",
  "interrupt_mode": "message",
  "env": {"TORCH_CPP_LOG_LEVEL": "ERROR", "MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296",
          "KILN_HOME": "$home"}
}
JSON
  mv "$spec/kernel.json.tmp" "$spec/kernel.json"
  jupyter kernelspec install --prefix "$jdir/prefix" --name=java "$spec" >/dev/null 2>&1 \
    || { say "jupyter kernelspec install failed"; exit 1; }
  # JUPYTER_PATH is searched before the user's kernels, so this "java" wins only for these runs
  export JUPYTER_PATH="$jdir/prefix/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
}

kiln_fat_jar() {
  local version
  version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$root/pom.xml" | head -1)
  kiln_fat="$root/target/kiln-$version-all.jar"
  if [[ ! -f "$kiln_fat" || -n "$(find "$root/framework" "$root/tasks" "$root/pom.xml" -newer "$kiln_fat" -type f -print -quit)" ]]; then
    say "building $kiln_fat (mvn package, about 1-3 minutes)"
    (cd "$root" && mvn -q -B package -DskipTests -Dmaven.test.skip=true >&2) || { say "build failed"; exit 1; }
  fi
}
