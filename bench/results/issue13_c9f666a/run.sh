#!/bin/bash
# issue 13's cells at c9f666a: the same runs as at 78802ee (its run.sh), into this directory
# (run from the repository's top, build/ at c9f666a)
OUT=${OUT:-bench/results/issue13_c9f666a} exec bash bench/results/issue13_78802ee/run.sh
