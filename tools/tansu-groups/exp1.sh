#!/usr/bin/env bash
# Q1: 3 members of one group on a 12-partition topic: join, clean leave (close), SIGKILL.
# Usage: ./exp1.sh NAME PORT [extra rdkafka key=value ...]
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
$B setup $BR t12 12 20 > $D/setup.log
$B member $BR g1 t12 A 80 "$@" > $D/A.log 2>&1 &
sleep 12; $B member $BR g1 t12 B 0 "$@" > $D/B.log 2>&1 & BPID=$!
sleep 12; $B member $BR g1 t12 C 15 "$@" > $D/C.log 2>&1 &
sleep 14; $B produce $BR t12 12 10 >> $D/setup.log   # while A,B,C share
sleep 8;  $B produce $BR t12 12 10 >> $D/setup.log   # after C left
echo "$(date +%T.%3N) kill -9 B" >> $D/events.log; kill -9 $BPID
sleep 16; $B produce $BR t12 12 10 >> $D/setup.log   # after B killed
wait
$B offsets $BR g1 t12 12 > $D/offsets.log 2>&1
kill $(cat $D/tansu.pid)
