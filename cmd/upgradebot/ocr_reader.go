package main

import "github.com/upgradebot/upgradebot/bot/slackbot"

// slackOCR is the reader for screenshots shared in Slack: nil (an untyped
// nil, so the transport ignores images) when screenshots are not read.
func (o *ocrReader) slackOCR() slackbot.OCR {
	if o == nil || o.r == nil {
		return nil
	}
	return o.r
}

// imageLimits are the reader's byte and pixel limits, so that Slack skips a
// file over them before downloading it (0, 0 when screenshots are not read:
// the transport's defaults, unused).
func (o *ocrReader) imageLimits() (maxBytes, maxPixels int64) {
	if o == nil || o.r == nil {
		return 0, 0
	}
	opts := o.r.Options()
	return opts.MaxBytes, opts.MaxPixels
}
