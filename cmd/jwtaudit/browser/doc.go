// Package browser checks the page `jwtaudit report` writes in headless
// Chromium, driven by chromedp. It is a module of its own, so that
// chromedp is no dependency of jwtaudit's: its test is built with the tag
// browser (chromedp takes longer to compile than the other tests take to
// run), and CI runs it as a step of its own:
//
//	cd cmd/jwtaudit/browser && go test -tags browser ./...
package browser
