#!/usr/bin/env bash
# A one-node Ceph cluster with its RADOS Gateway: a real S3 endpoint on 127.0.0.1 for the tests.
#
#   radosgw.sh start DIR MON_PORT RGW_PORT   starts it under DIR (empty or missing), writes DIR/s3.env
#   radosgw.sh stop DIR                      stops every daemon it started and removes DIR
#   with OWNER_PID after the ports, a watcher stops it when that process is gone (a test killed
#   before its teardown leaves nothing running)
#
# One mon, one bluestore OSD on a sparse file, no mgr, replication 1, cephx keys made with
# ceph-authtool, the gateway with the beast frontend; everything under DIR and on 127.0.0.1. From
# Debian's radosgw, ceph-mon, ceph-osd and ceph-common (installed with --no-install-recommends).
set -euo pipefail

die() { echo "radosgw.sh: $*" >&2; exit 1; }

stop() {
  local dir=$1 pids=() pid f
  [ -d "$dir/run" ] || { rm -rf "$dir"; return 0; }
  # The gateway first, then the OSD, then the mon: each still has the one below it while it stops.
  for name in client.rgw.a osd.0 mon.a; do
    f="$dir/run/$name.pid"
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    # Only a process whose command line names this cluster's config is ours to stop.
    if grep -qF "$dir/ceph.conf" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  done
  rm -rf "$dir"
}

start() {
  local dir=$1 mon_port=$2 rgw_port=$3
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$tool" >/dev/null || die "$tool missing: install radosgw ceph-mon ceph-osd ceph-common (--no-install-recommends)"
  done
  mkdir -p "$dir"/{run,log,mon,osd/ceph-0,rgw}
  local fsid conf=$dir/ceph.conf
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
log to stderr = false
err to stderr = true
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 1
mon data avail warn = 2
paxos propose interval = 0.01
osd objectstore = bluestore
bluestore block path = $dir/osd/block
bluestore block create = true
bluestore block size = 21474836480
bluestore fsck on mkfs = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64
[client.admin]
keyring = $dir/keyring
[osd]
keyring = \$osd_data/keyring
[client.rgw.a]
keyring = $dir/rgw/keyring
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw dns name = 127.0.0.1
rgw thread pool size = 64
CONF
  # Keys: the mon's, the admin's (imported into the mon's keyring), the OSD's and the gateway's.
  ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/osd/ceph-0/keyring" --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool --create-keyring "$dir/rgw/keyring" --gen-key -n client.rgw.a \
    --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  for k in keyring osd/ceph-0/keyring rgw/keyring; do
    ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/$k" >/dev/null
  done
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >/dev/null
  ceph-mon -c "$conf" -i a 2>>"$dir/log/mon.err"

  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph -c "$conf" --connect-timeout 15 osd new "$osd_uuid" 0 >/dev/null
  timeout 60 ceph-osd -c "$conf" -i 0 --mkfs --no-mon-config --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 ||
    { cat "$dir/log/osd-mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
  ceph-osd -c "$conf" -i 0 2>>"$dir/log/osd.err"

  radosgw -c "$conf" -n client.rgw.a 2>>"$dir/log/rgw.err"
  local access secret
  access=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  secret=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
  timeout 60 radosgw-admin -c "$conf" -n client.admin user create --uid tests --display-name tests \
    --access-key "$access" --secret "$secret" >/dev/null
  umask 077
  cat >"$dir/s3.env" <<ENV
AWS_ENDPOINT_URL=http://127.0.0.1:$rgw_port
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=$access
AWS_SECRET_ACCESS_KEY=$secret
ENV
  # Ready when the gateway answers (an anonymous request gets an S3 XML answer).
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null "http://127.0.0.1:$rgw_port/"; then return 0; fi
    sleep 0.05
  done
  die "radosgw did not answer on 127.0.0.1:$rgw_port (see $dir/log)"
}

case "${1:-}" in
  start)
    [ $# -eq 4 ] || [ $# -eq 5 ] || die "usage: radosgw.sh start DIR MON_PORT RGW_PORT [OWNER_PID]"
    if [ $# -eq 5 ]; then
      # Started first, so that a start that fails half way is cleaned up too.
      setsid "$0" watch "$2" "$5" </dev/null >/dev/null 2>&1 &
    fi
    start "$2" "$3" "$4"
    ;;
  watch)
    while [ -e "$2" ] && kill -0 "$3" 2>/dev/null; do sleep 1; done
    [ -e "$2" ] && stop "$2"
    exit 0
    ;;
  stop) [ $# -eq 2 ] || die "usage: radosgw.sh stop DIR"; stop "$2" ;;
  *) die "usage: radosgw.sh start DIR MON_PORT RGW_PORT | stop DIR" ;;
esac
