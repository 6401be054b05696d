#!/bin/sh
# Install the Debian packages featkit's build, tests and demo need, when
# they are missing.  Runs apt-get as root, or through sudo; otherwise says
# what to install and fails.
pkgs="gcc make pkg-config libjpeg62-turbo-dev libpng-dev zlib1g-dev check
      libopenblas-dev python3 python3-numpy python3-pil perl clang
      libjpeg-turbo-progs parallel rsync openssh-client groff-base"
# make quality (contrib/eval/quality.sh) and make models also need the
# references and the data: DEPS=quality sh contrib/deps.sh
[ "${DEPS:-}" = quality ] && pkgs="$pkgs python3-torch python3-torchvision python3-onnx
      python3-scipy opencv-doc dataset-fashion-mnist findimagedupes imagemagick
      gnome-backgrounds mate-backgrounds python3-skimage ukui-wallpapers
      lomiri-wallpapers-20.04 plasma-workspace-wallpapers"
# make models fetches the detector's backbone with npm (Debian's, unless
# a node.js that brings its own is installed)
[ "${DEPS:-}" = quality ] && ! command -v npm >/dev/null 2>&1 && pkgs="$pkgs npm"
# (openssh-server is not installed here: it would start a daemon on the
# user's machine.  t/t7100, featrun over hosts, needs its sshd binary and
# says so when it is missing; .ci/run installs it.)
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "deps: not root and no sudo; please install:$missing" >&2
	exit 1
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
