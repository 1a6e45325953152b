"""Checks advx's feature squeezers against the functions Xu et al.'s code uses (EvadeML-Zoo,
squeeze.py): bit depth as np.rint(x * (2^b - 1)) / (2^b - 1), and the median as
scipy.ndimage.median_filter(x, size=(1, 1, k, k), mode="reflect"), which anchors the even 2x2 window
with the pixel at its bottom right and takes the upper of the two middle values.

Input: the safetensors file written by the hidden Catch2 test "[.squeeze-reference]"
(tests/unit/test_squeeze_reference.cpp). Bound: exact equality for the median (it selects an input
value) and 1e-6 for bit depth (float32 vs float64 division).

Usage: /usr/bin/python3 tests/reference/check_squeeze.py DUMP.safetensors
"""
import os
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch as ref  # noqa: E402


def main():
    t, _ = ref.read_safetensors(sys.argv[1])
    x = t["images"].astype(np.float64)
    passed = failed = 0
    for b in (1, 4, 5):
        levels = 2 ** b - 1
        want = np.rint(x.astype(np.float32) * np.float32(levels)) / levels
        d = np.abs(t["bits%d" % b] - want).max()
        ok = d <= 1e-6
        print("%s  bit depth %d: max |advx - numpy| %.3g" % ("PASS" if ok else "FAIL", b, d))
        passed, failed = passed + ok, failed + (not ok)
    for k in (2, 3):
        want = ndimage.median_filter(t["images"], size=(1, 1, k, k), mode="reflect")
        d = np.abs(t["median%d" % k] - want).max()
        ok = d == 0.0
        print("%s  median %dx%d: max |advx - scipy| %.3g over %d images" % ("PASS" if ok else "FAIL", k, k, d, x.shape[0]))
        passed, failed = passed + ok, failed + (not ok)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
