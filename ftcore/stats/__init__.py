"""Pure statistics on plain numbers: bootstrap and intervals, paired differences, pairwise
win rates, Bradley-Terry, agreement, power (numpy; scipy for Kendall's tau)."""
