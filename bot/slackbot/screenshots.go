package slackbot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/ocr"
	"github.com/upgradebot/upgradebot/progress"
)

// Screenshots shared in Slack are diagnosed with the message's text:
//
//   - onCallback picks the image files of the event (no I/O: the Socket Mode
//     reader and the HTTP ack never wait), at most MaxImages of them;
//   - the message's job is admitted at the bound before the ack; off the
//     workers, its delivery is claimed and each screenshot downloaded and
//     read in its own goroutine, ImageConcurrency at a time across
//     messages, within ImageTimeout (the OCR reader bounds its Tesseract
//     processes itself);
//   - once they are read or ImageWait ends, the job takes its place in the
//     channel's lane and posts the one reply, with the text and every
//     screenshot read so far; a screenshot read later updates it
//     (chat.update), or is the reply when there was none yet, by a second
//     job in the lane.
//   - those goroutines, and the one per message that waits for them, are
//     bounded (MaxImageJobs, all messages together): a message takes room
//     for itself and its screenshots at once, before any goroutine starts;
//     without room its screenshots are not read (a note in the reply says
//     so) and it is answered at once in its lane, so a flood of pictures
//     never piles up waiting goroutines nor starves the reads.
//
// Shared files (snippets, text, CSV, XLSX; isShared) take the same path:
// downloaded (at most bot.MaxFileBytes) and read by the core
// (Core.ReadFile) instead of OCR, even when OCR is off.
//
// A download that fails, an HTML page instead of the image, an image too
// large or an OCR failure is logged and noted in the reply (when there is
// one); it never stops the text from being answered.

// OCR reads the text of screenshots; *ocr.Reader implements it.
type OCR interface {
	// Check refuses data that is not a PNG or JPEG (ocr.ErrNotImage) or is
	// over the byte or pixel limit (ocr.ErrTooLarge), from its header.
	Check(data []byte) error
	// Read returns the text of an image.
	Read(ctx context.Context, data []byte) (string, error)
}

var _ OCR = (*ocr.Reader)(nil)

// Defaults of the screenshot options.
const (
	defaultImageWait        = 8 * time.Second
	defaultImageTimeout     = time.Minute
	defaultMaxImages        = 4
	defaultImageConcurrency = 4
	imageJobsPerSlot        = 4 // MaxImageJobs by default: ImageConcurrency times this
	defaultMaxImageBytes    = ocr.DefaultMaxBytes
	defaultMaxImagePixels   = ocr.DefaultMaxPixels
)

func (o *Options) setImageDefaults() {
	if o.ImageWait <= 0 {
		o.ImageWait = defaultImageWait
	}
	if o.ImageTimeout <= 0 {
		o.ImageTimeout = defaultImageTimeout
	}
	if o.MaxImages <= 0 {
		o.MaxImages = defaultMaxImages
	}
	if o.ImageConcurrency <= 0 {
		o.ImageConcurrency = defaultImageConcurrency
	}
	if o.MaxImageJobs <= 0 {
		o.MaxImageJobs = imageJobsPerSlot * o.ImageConcurrency
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = defaultMaxImageBytes
	}
	if o.MaxImagePixels <= 0 {
		o.MaxImagePixels = defaultMaxImagePixels
	}
}

// fileName is how a file is named to people.
func fileName(f *slack.File) string {
	if f.Name != "" {
		return f.Name
	}
	if f.Title != "" {
		return f.Title
	}
	return f.ID
}

// needsInfo: the event did not say what the file is, or where to get it.
func needsInfo(f *slack.File) bool {
	return f.ID != "" && (f.FileAccess == "check_file_info" || (f.Mimetype == "" && f.Filetype == "") ||
		(f.URLPrivateDownload == "" && f.URLPrivate == ""))
}

// isImage: an image of any format.
func isImage(f *slack.File) bool {
	if strings.HasPrefix(strings.ToLower(f.Mimetype), "image/") {
		return true
	}
	switch strings.ToLower(f.Filetype) {
	case "png", "jpg", "jpeg", "gif", "bmp", "webp", "heic", "tiff", "svg":
		return true
	}
	return false
}

// isShared: a file the core reads (bot.ReadFile): a snippet (a long paste
// Slack turned into a file), a text, CSV or XLSX file. What it is, is
// decided from its content once downloaded.
func isShared(f *slack.File) bool {
	if f.Mode == "snippet" || strings.HasPrefix(strings.ToLower(f.Mimetype), "text/") {
		return true
	}
	switch strings.ToLower(f.Mimetype) {
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel", "application/csv":
		return true
	}
	switch strings.ToLower(f.Filetype) {
	case "text", "csv", "tsv", "xlsx", "xls", "log":
		return true
	}
	name := strings.ToLower(f.Name)
	for _, ext := range []string{".txt", ".log", ".csv", ".tsv", ".xlsx", ".xls"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// shotText is a file's entry in the reply before it is read.
func shotText(f *slack.File) bot.ImageText {
	return bot.ImageText{Name: fileName(f), File: !isImage(f)}
}

// readable: a format OCR reads (PNG or JPEG).
func readable(f *slack.File) bool {
	switch strings.ToLower(f.Mimetype) {
	case "image/png", "image/jpeg", "image/jpg", "image/pjpeg":
		return true
	case "":
		switch strings.ToLower(f.Filetype) {
		case "png", "jpg", "jpeg":
			return true
		}
	}
	return false
}

// shot is a screenshot to read; problem is set when it is not read at all.
type shot struct {
	file    slack.File
	problem string
}

// screenshots picks the screenshots and shared files (snippets, text,
// CSV, XLSX) of a message to read, from the event alone (no I/O). Images
// are ignored when OCR is off.
func (a *App) screenshots(channel, ts string, files []slack.File) []shot {
	var shots []shot
	extra, images := 0, 0
	for _, f := range files {
		switch {
		case f.Mode == "tombstone" || f.Mode == "hidden_by_limit" || f.IsExternal:
			continue
		case isImage(&f) && a.ocr == nil:
			images++
			continue
		case !isImage(&f) && !isShared(&f) && !needsInfo(&f):
			continue // a PDF, a file Slack described unreadably…
		case len(shots) >= a.opts.MaxImages:
			extra++
			shots = append(shots, shot{file: f, problem: fmt.Sprintf("at most %d screenshots and files of a message are read", a.opts.MaxImages)})
			continue
		}
		shots = append(shots, shot{file: f})
	}
	if images > 0 {
		a.log.Debug("images not read: screenshots are off on this server (Tesseract missing or UPGRADEBOT_OCR=off)", "channel", channel, "ts", ts, "files", images)
	}
	if extra > 0 {
		a.log.Info("a message has more screenshots than are read", "channel", channel, "ts", ts, "read", a.opts.MaxImages, "not_read", extra)
	}
	return shots
}

// startBackground runs fn off the workers, tracked for shutdown; false
// once shutdown has begun.
func (a *App) startBackground(fn func()) bool {
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.bgClosed {
		return false
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		fn()
	}()
	return true
}

// Why screenshot work did not start.
var (
	errImagesBusy = errors.New("too much screenshot work in progress")
	errStopping   = errors.New("shutting down")
)

// busyNote is the reply's note on a screenshot not read for lack of room.
const busyNote = "the bot is busy reading other screenshots; share it again in a few minutes, or paste the text"

// takeImageRoom takes room for n goroutines of screenshot work
// (MaxImageJobs), all or none: a message takes room for itself and each of
// its screenshots at once, so waiting messages never leave their
// screenshots no room to be read.
func (a *App) takeImageRoom(n int) bool {
	a.imageRoomMu.Lock()
	defer a.imageRoomMu.Unlock()
	if len(a.imageJobs)+n > cap(a.imageJobs) {
		return false
	}
	for range n {
		a.imageJobs <- struct{}{} // never blocks: only takeImageRoom adds, under the lock
	}
	return true
}

func (a *App) giveImageRoom(n int) {
	for range n {
		<-a.imageJobs
	}
}

// goImageJob runs fn in a goroutine of screenshot work whose room was
// taken (takeImageRoom) and gives the room back when fn returns, or at once
// with errStopping once shutdown has begun.
func (a *App) goImageJob(fn func()) error {
	if !a.startBackground(func() {
		defer a.giveImageRoom(1)
		fn()
	}) {
		a.giveImageRoom(1)
		return errStopping
	}
	return nil
}

// answerWithScreenshots answers a message with screenshots, its text
// already read (r); j is its job, still without run. The job is admitted
// now (false: refused at the bound), and queued in its channel's lane
// only once the screenshots are read or ImageWait ends, so a slow picture
// never holds up the channel. A screenshot read later updates the reply
// by a second job in the same lane.
func (a *App) answerWithScreenshots(j job, d durable, r *bot.Reading, shots []shot) bool {
	m := r.Message()
	if !a.admitEvent(&j, d) {
		return false
	}
	w := &journalWrite{done: make(chan struct{})}
	a.journal(w, m, r, d, j.received)
	o := messageOrigin(m)
	o.eventID, o.recovered, o.retried = d.eventID, d.rec != nil, d.retried
	readable := 0
	for _, s := range shots {
		if s.problem == "" {
			readable++
		}
	}
	a.bgRunning.Add(1)
	err := errImagesBusy
	if a.takeImageRoom(1 + readable) {
		err = a.goImageJob(a.screenshotsJob(j, d, w, r, shots, readable))
		if err != nil {
			a.giveImageRoom(readable)
		}
	}
	switch err {
	case errStopping:
		a.bgRunning.Add(-1)
		a.lanes.release(j)
		d.end(false) // journaled: the next process answers it
		a.log.Warn("shutting down: a message with screenshots arrived too late to be answered", "channel", m.Channel, "ts", m.TS)
	case errImagesBusy:
		a.bgRunning.Add(-1)
		a.log.Warn("screenshots not read: too much screenshot work in progress", "channel", m.Channel, "ts", m.TS, "screenshots", len(shots), "max_image_jobs", a.opts.MaxImageJobs)
		images := make([]bot.ImageText, len(shots))
		for i, s := range shots {
			images[i] = shotText(&s.file)
			images[i].Problem, images[i].Skipped = cmp.Or(s.problem, busyNote), true
		}
		r = r.WithImages(images)
		j.run = a.afterJournal(w, func(ctx context.Context) {
			held, dup := a.claimMessage(ctx, m)
			if dup {
				return
			}
			_, err := a.answerText(ctx, r, o)
			a.finish(ctx, held, err)
		}, d.rec)
		j.done = func(ran bool) {
			if !ran {
				d.end(false)
			}
		}
		a.lanes.queue(j)
	}
	return true
}

// screenshotsJob is the background work of answerWithScreenshots: claim the
// message, read its screenshots (room for readable of them was taken), then
// queue the reply in the channel's lane.
func (a *App) screenshotsJob(j job, d durable, w *journalWrite, r *bot.Reading, shots []shot, readable int) func() {
	m := r.Message()
	o := messageOrigin(m)
	o.eventID, o.recovered, o.retried, o.screenshots = d.eventID, d.rec != nil, d.retried, true
	return func() {
		defer a.bgRunning.Add(-1)
		ctx, cancel := context.WithTimeout(d.context(a.bgCtx), a.opts.ImageWait+a.opts.ImageTimeout+a.opts.JobTimeout)
		defer cancel()
		queued := false
		defer func() {
			if p := recover(); p != nil {
				if !queued {
					a.lanes.release(j) // its room in the bound, taken when it came
				}
				d.end(true) // run again, it would panic again
				a.log.Error("answering a message with screenshots panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		<-w.done // within socketAckBudget and putTimeout
		entry := w.entry
		held, dup := a.claimMessage(ctx, m)
		var reads *screenshotReads
		if dup {
			a.giveImageRoom(readable)
		} else {
			reads = a.readAll(ctx, m, shots)
			wait := time.NewTimer(a.opts.ImageWait)
			select {
			case <-reads.done:
			case <-wait.C:
			case <-ctx.Done():
			}
			wait.Stop()
			r = r.WithImages(reads.snapshot())
		}
		var ts string
		answered := make(chan bool, 1)
		// With screenshots still being read, the reply now is updated when
		// they are: the event is done (journal, recovery) only then, or a
		// stop in between would lose what they show.
		late := !dup && pending(r.Message().Images)
		first, firstRec := entry, d.rec
		if late {
			first, firstRec = progress.Entry{}, nil
		}
		j.run = a.finishing(func(ctx context.Context) {
			if dup {
				return
			}
			if a.wasDeleted(ctx, m) {
				a.finish(ctx, held, nil)
				return
			}
			var err error
			ts, err = a.answerText(ctx, r, o)
			a.finish(ctx, held, err)
			a.metrics.HandlerLatency("screenshot", time.Since(j.received))
		}, first, firstRec)
		j.done = func(ran bool) {
			if !ran {
				d.end(false)
			}
			answered <- ran
		}
		queued = true
		a.lanes.queue(j)
		if !<-answered {
			a.log.Warn("shutting down: a message with screenshots was not answered", "channel", m.Channel, "ts", m.TS)
			a.finish(ctx, held, errors.New("shutting down"))
			return
		}
		if !late {
			return
		}
		select {
		case <-reads.done:
		case <-ctx.Done():
		}
		read := r.WithImages(reads.snapshot())
		a.lanes.submit(job{key: j.key, bytes: j.bytes, kind: "screenshot", class: classOwed, received: j.received,
			run: a.finishing(func(ctx context.Context) { a.updateAnswer(ctx, read, o, ts) }, entry, d.rec),
			done: func(ran bool) {
				if !ran {
					d.end(false)
				}
			}})
	}
}

func pending(images []bot.ImageText) bool {
	for _, im := range images {
		if im.Pending {
			return true
		}
	}
	return false
}

// updateAnswer rebuilds a message's reply once its last screenshots are
// read (r): the reply posted (ts) is updated; without one, the reply is posted now.
func (a *App) updateAnswer(ctx context.Context, r *bot.Reading, o origin, ts string) {
	m := r.Message()
	if a.wasDeleted(ctx, m) {
		return // the deletion's reply (Undo) stays as it is
	}
	if ts == "" {
		if _, err := a.answerText(ctx, r, o); err != nil {
			a.log.Warn("could not post the answer to a screenshot read late", "channel", m.Channel, "ts", m.TS, "err", err)
		}
		return
	}
	resp := a.core.Answer(ctx, r)
	if !resp.Reply.Empty() && !resp.Private {
		update := a.api.Update
		if o.eventID != "" {
			update = func(ctx context.Context, channel, ts string, r *bot.Reply) error {
				return a.api.UpdateEventReply(ctx, channel, ts, o.eventID, r)
			}
		}
		if err := update(ctx, o.channel, ts, resp.Reply); err != nil {
			a.log.Warn("could not update the answer with a screenshot read late", "channel", m.Channel, "ts", m.TS, "reply_ts", ts, "err", err)
		} else {
			a.metrics.Reply("update")
		}
		resp.Reply = nil
	}
	_, _ = a.deliverTS(ctx, resp, o)
}

// screenshotReads are the screenshots of one message being read.
type screenshotReads struct {
	mu     sync.Mutex
	images []bot.ImageText
	left   int
	done   chan struct{} // closed when every one is read (or given up)
}

func (r *screenshotReads) snapshot() []bot.ImageText {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.ImageText(nil), r.images...)
}

// readAll starts reading a message's screenshots, each in its own goroutine
// when there is room for it.
func (a *App) readAll(ctx context.Context, m bot.Message, shots []shot) *screenshotReads {
	r := &screenshotReads{images: make([]bot.ImageText, len(shots)), left: len(shots), done: make(chan struct{})}
	for i, s := range shots {
		r.images[i] = shotText(&s.file)
		r.images[i].Pending = true
	}
	for i, s := range shots {
		finish := func(im bot.ImageText) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.images[i] = im
			if r.left--; r.left == 0 {
				close(r.done)
			}
		}
		failed := func(problem string) bot.ImageText {
			im := shotText(&s.file)
			im.Problem = problem
			return im
		}
		if s.problem != "" { // over MaxImages, not to be read: no goroutine
			im := failed(s.problem)
			im.Skipped = true
			finish(im)
			continue
		}
		err := a.goImageJob(func() {
			im := failed("it could not be read")
			defer func() {
				if p := recover(); p != nil {
					a.log.Error("reading a screenshot panicked", "file", s.file.ID, "panic", p, "stack", string(debug.Stack()))
				}
				finish(im)
			}()
			im = a.readScreenshot(ctx, m, s)
		})
		if err != nil {
			finish(failed("the bot was shutting down"))
		}
	}
	return r
}

// readScreenshot downloads and reads one screenshot; what went wrong is
// logged and comes back as the image's Problem.
func (a *App) readScreenshot(ctx context.Context, m bot.Message, s shot) bot.ImageText {
	f := s.file
	im := bot.ImageText{Name: fileName(&f)}
	log := a.log.With("channel", m.Channel, "ts", m.TS, "file", f.ID, "name", fileName(&f))
	if s.problem != "" {
		im.Problem, im.Skipped = s.problem, true
		return im
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.ImageTimeout)
	defer cancel()
	if needsInfo(&f) {
		info, err := a.api.FileInfo(ctx, f.ID)
		if err != nil {
			log.Warn("screenshot not read: files.info failed", "err", err)
			im.Problem = "Slack did not say where to get it (" + errorCode(err) + ")" + scopeHint(err)
			return im
		}
		f = *info
		im.Name = fileName(&f)
		if f.IsExternal || f.Mode == "tombstone" || f.Mode == "hidden_by_limit" || (isImage(&f) && a.ocr == nil) || (!isImage(&f) && !isShared(&f)) {
			return im // nothing to read after all: nothing to say
		}
	}
	if !isImage(&f) {
		return a.readShared(ctx, f, log)
	}
	if !readable(&f) {
		log.Debug("screenshot not read: not a PNG or JPEG", "mimetype", f.Mimetype, "filetype", f.Filetype)
		im.Problem = "only PNG and JPEG screenshots are read"
		return im
	}
	if size := int64(f.Size); size > a.opts.MaxImageBytes {
		log.Info("screenshot not downloaded: larger than the limit", "size", size, "limit", a.opts.MaxImageBytes)
		im.Problem = fmt.Sprintf("it is too large (%s; at most %s are read)", sizeText(size), sizeText(a.opts.MaxImageBytes))
		im.Skipped = true
		return im
	}
	if w, h := int64(f.OriginalW), int64(f.OriginalH); w > 0 && h > 0 && (w > a.opts.MaxImagePixels/h || w*h > a.opts.MaxImagePixels) {
		log.Info("screenshot not downloaded: more pixels than the limit", "width", f.OriginalW, "height", f.OriginalH, "limit", a.opts.MaxImagePixels)
		im.Problem = fmt.Sprintf("it is too large (%d×%d pixels; at most %.0f megapixels are read)", w, h, float64(a.opts.MaxImagePixels)/1e6)
		im.Skipped = true
		return im
	}
	select {
	case a.imageSlots <- struct{}{}:
		defer func() { <-a.imageSlots }()
	case <-ctx.Done():
		log.Warn("screenshot not read: every slot stayed busy", "waited", a.opts.ImageTimeout)
		im.Problem = "the bot was too busy; paste the text instead"
		im.Skipped = true
		return im
	}
	data, problem, limited := a.fetch(ctx, &f, a.opts.MaxImageBytes, "screenshot", log)
	if problem != "" {
		im.Problem, im.Skipped = problem, limited
		return im
	}
	if err := a.ocr.Check(data); err != nil {
		switch {
		case errors.Is(err, ocr.ErrNotImage):
			log.Warn("screenshot not read: Slack did not send an image (is the files:read scope granted? reinstall the app after adding it)",
				"err", err, "bytes", len(data))
			im.Problem = "Slack sent something other than the image (the app may need the files:read scope)"
		case errors.Is(err, ocr.ErrTooLarge):
			log.Info("screenshot not read: over the limit", "err", err)
			im.Problem = "it is too large (" + strings.TrimPrefix(err.Error(), "image too large: ") + ")"
			im.Skipped = true
		default:
			log.Warn("screenshot not read", "err", err)
			im.Problem = "it is not a readable image"
		}
		return im
	}
	start := time.Now()
	text, err := a.ocr.Read(ctx, data)
	switch {
	case errors.Is(err, ocr.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
		log.Warn("screenshot not read: OCR took too long", "err", err, "after", time.Since(start).Round(time.Millisecond))
		im.Problem = "reading it took too long; paste the text instead"
		im.Skipped = true
		return im
	case err != nil:
		log.Warn("screenshot not read: OCR failed", "err", err)
		im.Problem = "OCR failed on it; paste the text instead"
		return im
	}
	log.Debug("screenshot read", "bytes", len(data), "chars", len(text), "took", time.Since(start).Round(time.Millisecond))
	im.Text = text
	return im
}

// readShared downloads a shared file (at most bot.MaxFileBytes) and has
// the core read it; a slot of ImageConcurrency is held while it is
// downloaded and read, as for a screenshot.
func (a *App) readShared(ctx context.Context, f slack.File, log *slog.Logger) bot.ImageText {
	im := shotText(&f)
	if size := int64(f.Size); size > bot.MaxFileBytes {
		log.Info("file not downloaded: larger than the limit", "size", size, "limit", bot.MaxFileBytes)
		im.Problem = fmt.Sprintf("it is too large (%s; at most %s are read): share the lines around the errors, or an Error Log export of fewer rows", sizeText(size), sizeText(bot.MaxFileBytes))
		return im
	}
	select {
	case a.imageSlots <- struct{}{}:
		defer func() { <-a.imageSlots }()
	case <-ctx.Done():
		log.Warn("file not read: every slot stayed busy", "waited", a.opts.ImageTimeout)
		im.Problem = "the bot was too busy; share it again in a few minutes"
		return im
	}
	data, problem, _ := a.fetch(ctx, &f, bot.MaxFileBytes, "file", log)
	switch {
	case problem != "":
		im.Problem = problem
		return im
	case isHTML(data) && f.Filetype != "html":
		log.Warn("file not read: Slack sent a web page (is the files:read scope granted? reinstall the app after adding it)", "bytes", len(data))
		im.Problem = "Slack sent a web page instead of the file (the app may need the files:read scope)"
		return im
	}
	start := time.Now()
	im = a.core.ReadFile(fileName(&f), data)
	log.Debug("file read", "bytes", len(data), "problem", im.Problem, "took", time.Since(start).Round(time.Millisecond))
	return im
}

// isHTML: Slack's sign-in page rather than the file.
func isHTML(data []byte) bool {
	head := strings.ToLower(strings.TrimSpace(string(data[:min(len(data), 64)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}

// scopeHint adds what to do when Slack refused for a missing scope.
func scopeHint(err error) string {
	if c := errorCode(err); c == "missing_scope" || c == "sign_in_page" {
		return "; the app needs the files:read scope: add it and reinstall the app"
	}
	return ""
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	if n >= 1<<10 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// fetch downloads a shared file (what: "screenshot" or "file"), at most
// limit bytes. On failure it gives the reply's problem, and whether the
// limit stopped the download (rather than Slack or the network).
func (a *App) fetch(ctx context.Context, f *slack.File, limit int64, what string, log *slog.Logger) (data []byte, problem string, limited bool) {
	data, err := a.api.DownloadFile(ctx, cmp.Or(f.URLPrivateDownload, f.URLPrivate), limit)
	switch {
	case errors.Is(err, errFileTooLarge):
		log.Info(what+" download stopped: larger than the limit", "limit", limit)
		return nil, fmt.Sprintf("it is too large (at most %s are read)", sizeText(limit)), true
	case err != nil:
		log.Warn(what+" not read: the download failed", "err", err)
		return nil, "the download from Slack failed (" + errorCode(err) + ")" + scopeHint(err), false
	}
	return data, "", false
}
