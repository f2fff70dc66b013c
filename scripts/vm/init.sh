#!/bin/busybox sh
# /init of the VM harness's initramfs (busybox-static). Loads every object of /bpf three ways
# with /vmload and writes the records to the second serial port (/dev/ttyS1), read by
# scripts/vm/report.mjs:
#   kernel  the kernel's own BTF (/sys/kernel/btf/vmlinux)
#   forced  BTFGEN_FORCE_ARCHIVE=1: the archive member even though the kernel has BTF
#   hidden  a tmpfs over /sys/kernel/btf: the kernel looks built without BTF, the helper must
#           pick the archive member by itself
# and, when /node/node exists, node-forced / node-hidden: the Node runtime's ensureCoreBtf picks
# the member (/node/ensure.mjs), /vmload --btf loads with it.
# Kernel command line: btfgen.os=<Debian VERSION_ID> (written to /etc/os-release, which the
# helper reads with uname to choose the member).
/bin/busybox mkdir -p /bin /sbin /proc /sys /dev /tmp /etc
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
ver=$(sed -n 's/.*btfgen\.os=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
printf 'PRETTY_NAME="Debian GNU/Linux %s"\nID=debian\nVERSION_ID="%s"\n' "$ver" "$ver" > /etc/os-release
exec 3>/dev/ttyS1
up() { cut -d' ' -f1 /proc/uptime; }
kbtf=no
[ -r /sys/kernel/btf/vmlinux ] && kbtf=yes
echo "vm begin $(uname -r) kbtf=$kbtf os=$ver boot=$(up)" >&3

load_all() { # way [env...]
  way=$1
  shift
  echo "way $way begin $(up)" >&3
  for o in /bpf/*.o; do
    echo "obj ${o##*/}" >&3
    env "$@" /vmload $VMLOAD_BTF "$o" >&3 2>/dev/console
    echo "rc $?" >&3
  done
  echo "way $way end $(up)" >&3
}

node_way() { # way [--force]
  nway=$1
  echo "node $nway begin $(up)" >&3
  p=$(/node/node /node/ensure.mjs /archive.tar.gz $2 2>/dev/console)
  rc=$?
  echo "node $nway picked rc=$rc $p $(up)" >&3
  set -- $p
  if [ $rc = 0 ] && [ "$1" = archive ]; then
    VMLOAD_BTF="--btf $3"
    load_all "$nway"
    VMLOAD_BTF=
    rm -f "$3"
  fi
}

load_all kernel
load_all forced BTFGEN_FORCE_ARCHIVE=1
[ -x /node/node ] && node_way node-forced --force
mount -t tmpfs none /sys/kernel/btf
hidden=yes
[ -e /sys/kernel/btf/vmlinux ] && hidden=no
echo "hide $hidden" >&3
load_all hidden
[ -x /node/node ] && node_way node-hidden
echo "vm done $(up)" >&3
sync
poweroff -f
