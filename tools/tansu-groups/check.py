#!/usr/bin/env python3
"""Check a run dir: overlapping partition ownership between members, and
records consumed more than once / never consumed.  Usage: check.py run-DIR"""
import re, sys, glob, os
d = sys.argv[1]
events = []  # (time, member, kind, payload)
for f in sorted(glob.glob(os.path.join(d, "[A-Z].log"))):
    m = os.path.basename(f)[0]
    for line in open(f, errors="replace"):
        t = line[:12]
        x = re.search(r"POST .* assignment now \{(.*?)\}", line)
        if x:
            s = {int(p) for p in x.group(1).split(",") if p.strip()}
            events.append((t, m, "own", s))
        elif "exiting;" in line:
            events.append((t, m, "own", set()))
        x = re.search(r"MSG p(\d+) o(\d+)", line)
        if x:
            events.append((t, m, "msg", (int(x.group(1)), int(x.group(2)))))
ev = os.path.join(d, "events.log")
if os.path.exists(ev):
    for line in open(ev):
        x = re.search(r"kill -9 ([A-Z])", line)
        if x:
            events.append((line[:12], x.group(1), "own", set()))
events.sort(key=lambda e: e[0])
own = {}
overlaps = {}
for t, m, k, p in events:
    if k != "own":
        continue
    own[m] = p
    for a in own:
        for b in own:
            if a < b and own[a] & own[b]:
                overlaps.setdefault((a, b), []).append((t, sorted(own[a] & own[b])))
for (a, b), v in overlaps.items():
    print(f"OVERLAP {a}&{b}: first at {v[0][0]} partitions {v[0][1]} ({len(v)} events)")
if not overlaps:
    print("no overlapping ownership")
seen = {}
for t, m, k, p in events:
    if k == "msg":
        seen.setdefault(p, []).append(m)
dups = {p: ms for p, ms in seen.items() if len(ms) > 1}
print(f"records consumed: {len(seen)} distinct, {sum(len(v) for v in seen.values())} total, {len(dups)} consumed more than once")
byp = {}
for (p, o), ms in sorted(dups.items()):
    byp.setdefault(p, []).append((o, "".join(ms)))
for p, v in sorted(byp.items()):
    print(f"  p{p}: " + " ".join(f"o{o}:{ms}" for o, ms in v[:8]) + (" ..." if len(v) > 8 else ""))
print("final ownership:", {m: sorted(s) for m, s in own.items()})
