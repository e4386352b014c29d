#!/usr/bin/env bash
# Q3: static membership (group.instance.id): join, SIGKILL + quick restart with the
# same instance id, then SIGKILL without restart.  Usage: ./exp3.sh NAME PORT [extra k=v ...]
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
ev() { echo "$(date +%T.%3N) $*" >> $D/events.log; }
$B setup $BR t12 12 20 > $D/setup.log
ev "start A"; $B member $BR g1 t12 A 75 group.instance.id=sa "$@" > $D/A.log 2>&1 &
sleep 10; ev "start B"; $B member $BR g1 t12 B 0 group.instance.id=sb "$@" > $D/B.log 2>&1 & BPID=$!
sleep 12; ev "kill -9 B"; kill -9 $BPID
sleep 2; ev "restart B (same instance id)"; $B member $BR g1 t12 B 0 group.instance.id=sb "$@" > $D/B2.log 2>&1 & BPID=$!
sleep 15; $B produce $BR t12 12 10 >> $D/setup.log; ev produced
sleep 5; ev "kill -9 B (no restart)"; kill -9 $BPID
sleep 20; $B produce $BR t12 12 10 >> $D/setup.log; ev produced
wait
$B offsets $BR g1 t12 12 > $D/offsets.log 2>&1
kill $(cat $D/tansu.pid)
