#!/usr/bin/env bash
# Q4: does tansu fence OffsetCommit by generation / member id?  Two live members
# (eager), then hand-written OffsetCommit v2 requests with stale/bogus generation
# and member ids.  Usage: ./exp4.sh NAME PORT
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
$B setup $BR t12 12 5 > $D/setup.log
$B member $BR g1 t12 A 40 debug=cgrp > $D/A.log 2>&1 &
sleep 3; $B member $BR g1 t12 B 40 debug=cgrp > $D/B.log 2>&1 &
sleep 15
GEN=$(grep -ho 'JoinGroup response: GenerationId [0-9]*' $D/A.log | tail -1 | awk '{print $4}')
AID=$(grep -ho 'my MemberId A-[^,]*' $D/A.log | tail -1 | awk '{print $3}')
echo "group g1 current generation=$GEN, A member id=$AID" | tee $D/raw.log
$B offsets $BR g1 t12 12 2>/dev/null | head -1 | tee -a $D/raw.log
$B rawcommit $BR g1 $((GEN-1)) "$AID" t12 0 1 | tee -a $D/raw.log
$B rawcommit $BR g1 $((GEN+7)) "$AID" t12 1 1 | tee -a $D/raw.log
$B rawcommit $BR g1 "$GEN" "no-such-member" t12 2 1 | tee -a $D/raw.log
$B rawcommit $BR g1 -1 "" t12 3 1 | tee -a $D/raw.log
$B offsets $BR g1 t12 12 2>/dev/null | head -1 | tee -a $D/raw.log
wait
kill $(cat $D/tansu.pid)
