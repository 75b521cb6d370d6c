// Package bench holds upgradebot's measurements, all in its tests: the
// load tool (TestLoad, run with -load), the status and reminder rendering
// benchmarks, and the fault tests that run the bot as a real process (set
// UPGRADEBOT_FAULTS=1). Its packages send the load (internal/load) and run
// the bot (internal/botproc). See docs/performance.md.
package bench
