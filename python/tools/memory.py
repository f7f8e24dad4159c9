"""Resident memory per worker: N processes, each holding a model (as N Spark Python workers
or N Ray actors on one node would), measured while all are alive.

    python python/tools/memory.py [--workers 3] [--model random:vit-base-patch16-224] [--dtype int8] [--share DIR] IMAGE

Prints one line per worker with RSS and PSS (Linux's /proc/PID/smaps_rollup: PSS divides each
shared page among the processes that map it) and their sums.
"""

import argparse
import multiprocessing as mp


def rollup():
    """{field: kB} of this process's smaps_rollup."""
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def worker(model, dtype, image, threads, share, loaded, measure, results):
    import vitrs

    m = vitrs.Model(model, dtype=dtype, threads=threads, share_weights=share)
    m.embed([image])
    loaded.wait()  # every worker holds its model
    measure.wait()  # the parent says: measure now
    r = rollup()
    results.put((r["Rss"], r["Pss"], r.get("Pss_Anon", 0), r.get("Pss_File", 0)))
    loaded.wait()  # stay alive until every worker has measured


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--model", default="random:vit-base-patch16-224")
    ap.add_argument("--dtype", default="f32", choices=["f32", "int8"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--share", help="share the weights through a file in this folder")
    a = ap.parse_args()
    ctx = mp.get_context("spawn")
    loaded, measure = ctx.Barrier(a.workers + 1), ctx.Barrier(a.workers + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(a.model, a.dtype, a.image, a.threads, a.share, loaded, measure, results))
        for _ in range(a.workers)
    ]
    for p in procs:
        p.start()
    loaded.wait(timeout=600)
    measure.wait(timeout=60)
    rows = [results.get(timeout=60) for _ in procs]
    loaded.wait(timeout=60)
    for p in procs:
        p.join(timeout=60)
    how = f"weights shared through {a.share}" if a.share else "private weights"
    print(f"{a.workers} workers, {a.model} ({a.dtype}), {how}; MB (1 MB = 1024 kB):")
    print("worker      RSS      PSS  PSS_anon  PSS_file")
    for i, (rss, pss, anon, file) in enumerate(rows):
        print(f"{i:6} {rss / 1024:8.1f} {pss / 1024:8.1f} {anon / 1024:9.1f} {file / 1024:9.1f}")
    print(f"sum    {sum(r[0] for r in rows) / 1024:8.1f} {sum(r[1] for r in rows) / 1024:8.1f}")


if __name__ == "__main__":
    main()
