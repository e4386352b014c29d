#!/usr/bin/env bash
# Q1/Q2: SIGKILL of the group LEADER (A, the first member).  Usage: ./exp2.sh NAME PORT [extra k=v ...]
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
ev() { echo "$(date +%T.%3N) $*" >> $D/events.log; }
$B setup $BR t12 12 20 > $D/setup.log
ev "start A"; $B member $BR g1 t12 A 0 "$@" > $D/A.log 2>&1 & APID=$!
sleep 8; ev "start B"; $B member $BR g1 t12 B 50 "$@" > $D/B.log 2>&1 &
sleep 12; ev "kill -9 A"; kill -9 $APID
sleep 20; $B produce $BR t12 12 10 >> $D/setup.log; ev produced
wait
$B offsets $BR g1 t12 12 > $D/offsets.log 2>&1
kill $(cat $D/tansu.pid)
