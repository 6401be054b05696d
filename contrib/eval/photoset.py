"""photoset.py - the photo sets deteval.py and quanteval.py score on, and the
C pipeline they run over them (one module, so both see the same photos
and the same programs).

  set_b(a)         N photos of generator B (scenes_b.py, a.seed) in a.dir
                   (default: a temporary folder; a folder that already
                   holds a boxes.tsv is scored as it is)
  set_held_out(a)  N of the project's held-out detector scenes
                   (contrib/train/evaluate.py's held_out, seed 1000 + a.seed)
  sets(a)          (name, files, truth) for each set named in a.set
  binpath()        this tree's build/bin when built, else None (PATH)
  pipeline(files, model, stage, who)
                   imgdecode | imgprep -m MODEL | STAGE -m MODEL |
                   featwrite -f jsonl over the files: {key: record}

Each set is (name, files, truth); truth is per photo [(label 0-9, box,
is_main)], the main item first.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import scenes_b  # noqa: E402


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def read_boxes(path):
    """{file: [(label 0-9, box, is_main)]}, main first."""
    out = {}
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            p = ln.rstrip("\n").split("\t")
            if len(p) < 7:
                sys.exit("deteval: %s:%d: expected file, label, class, xmin, ymin, xmax, ymax" % (path, n))
            role = p[7] if len(p) > 7 else ""
            out.setdefault(p[0], []).append([int(p[1]), tuple(float(v) for v in p[3:7]), role])
    for rows in out.values():
        mains = [r for r in rows if r[2] == "main"]
        main = mains[0] if mains else rows[0]
        rows.remove(main)
        rows.insert(0, main)
        for k, r in enumerate(rows):
            r[2] = k == 0
    return out


def set_b(a):
    d = a.dir or tmpdir("deteval-b.")
    bt = os.path.join(d, "boxes.tsv")
    if not os.path.exists(bt):
        scenes_b.generate(d, a.n, a.seed)
    boxes = read_boxes(bt)
    files = sorted(boxes)
    return "generator B (%s)" % d, [os.path.join(d, f) for f in files], [boxes[f] for f in files]


def set_held_out(a):
    sys.path.insert(0, os.path.join(TOP, "contrib", "train"))
    import evaluate as E  # the project's held-out scenes, as evaluate.py makes them
    import train_ssd as TS
    d = tmpdir("deteval-h.")
    files, truth = [], []
    for k, (blob, lab, box, _, oth) in enumerate(E.held_out(a.n, 1000 + a.seed, TS.SIZES, False)):
        f = os.path.join(d, "h%05d.png" % k)
        with open(f, "wb") as fh:
            fh.write(blob)
        files.append(f)
        truth.append([(lab - 1, tuple(float(v) for v in box), True)] +
                     [(ol - 1, tuple(float(v) for v in ob), False) for ol, ob in oth])
    return "held-out scenes (seed %d)" % (1000 + a.seed), files, truth


def sets(a):
    """(name, files, truth) for each of a.set ("b", "held-out"), made as used."""
    for s in [x.strip() for x in a.set.split(",") if x.strip()]:
        yield (set_b if s == "b" else set_held_out)(a)


def binpath():
    b = os.path.join(TOP, "build", "bin")
    return b if os.path.exists(os.path.join(b, "ssd-detect")) else None


def pipeline(files, model, stage, who):
    """{key: jsonl record} of imgdecode | imgprep -m MODEL | STAGE -m MODEL
    | featwrite -f jsonl over files (error records included)."""
    env = dict(os.environ)
    b = binpath()
    if b:
        env["PATH"] = b + os.pathsep + env.get("PATH", "")
    cmd = ["sh", "-c", 'imgdecode -q | imgprep -q -m "$1" | %s -q -m "$1" | '
           'featwrite -q -f jsonl -e 100%%' % stage, who, model]
    p = subprocess.run(cmd, input="".join(f + "\n" for f in files), env=env,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit("%s: the pipeline failed (%d): %s" % (who, p.returncode, p.stderr.strip()))
    out = {}
    for ln in p.stdout.splitlines():
        r = json.loads(ln)
        out[r["key"]] = r
    return out
