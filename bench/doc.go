// Package bench holds upgradebot's measurements: the load tool
// (bench/loadgen), the command that runs every measurement and prints one
// table (bench/all), the status and reminder rendering benchmarks, and the
// fault tests that run the bot as a real process (set UPGRADEBOT_FAULTS=1).
// See docs/performance.md.
package bench
