//go:build race

package main

// raceEnabled tells TestREADMECommandsRun to build its binaries with -race
// too, so that they reuse the packages the test binary was compiled from.
const raceEnabled = true
