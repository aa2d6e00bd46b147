#!/bin/sh
# Installs HOME/minispark-wheelhouse.tar into the virtualenv HOME/venv without a package
# index, and records DIGEST (the wheelhouse's source digest) as the installed one in
# HOME/venv/wheelhouse-digest. Run as root. The one install both deployment paths run: the
# common role (tasks/install.yml) and `fab upgrade` (minispark/ops/wheel.py).
#   install-wheelhouse.sh HOME DIGEST
set -eu
if [ "$#" -ne 2 ]; then
  echo "usage: install-wheelhouse.sh HOME DIGEST" >&2
  exit 2
fi
home=$1
digest=$2
wheels=$home/wheelhouse
venv=$home/venv

# An empty directory, so that no wheel of an older build can be picked.
rm -rf "$wheels"
install -d -m 0755 "$wheels"
tar -xf "$home/minispark-wheelhouse.tar" -C "$wheels"
# Wheel names put the version right after the project's name: minispark-0.1.0-py3-none-any.whl.
set -- "$wheels"/minispark-[0-9]*.whl
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
  echo "$home/minispark-wheelhouse.tar holds no single minispark wheel" >&2
  exit 1
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# --force-reinstall: a rebuilt wheel of the same version must replace the installed one.
# pip's progress goes nowhere; its errors reach stderr, which the callers report.
"$venv/bin/pip" install --no-index --disable-pip-version-check --find-links "$wheels" \
  --force-reinstall "$1" >/dev/null

# Written aside and renamed into place, so that no reader ever sees half a digest.
printf '%s\n' "$digest" > "$venv/wheelhouse-digest.new"
chmod 0644 "$venv/wheelhouse-digest.new"
mv -f "$venv/wheelhouse-digest.new" "$venv/wheelhouse-digest"
rm -rf "$wheels"
