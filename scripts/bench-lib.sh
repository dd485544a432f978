# Shared by the load scripts (sourced, not run).

# The middle of the numbers given, to three decimals. Of the per-round ratios of alternating
# rounds, it is the figure that a round hit by a change of the host's clock speed while one
# side ran (outliers of ±30% on a shared machine) moves least.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m}'
}
