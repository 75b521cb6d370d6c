package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// runSocket keeps a Socket Mode connection open until ctx ends. slack-go
// reconnects by itself (disconnect requests, dropped connections, failed
// opens with backoff); when it gives up (a refused app token) this waits
// and opens again, for as long as the process runs. A token refused before
// the first connection stops start-up instead (see Run).
func (a *App) runSocket(ctx context.Context) {
	opts := []socketmode.Option{socketmode.OptionLog(slogOutput{a.log})}
	if a.opts.PingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(a.opts.PingInterval))
	}
	smc := socketmode.New(a.api.Client(), opts...)
	go a.socketEvents(ctx, smc)
	wait := a.opts.ReconnectBackoff
	for {
		err := smc.RunContext(ctx)
		if ctx.Err() != nil {
			return
		}
		if refusedAppToken(err) {
			if !a.connectedOnce.Load() {
				a.fatal <- fmt.Errorf("SLACK_APP_TOKEN was refused by Slack (%v): use an app-level token (xapp-…) with the connections:write scope, from Basic Information → App-Level Tokens, and enable Socket Mode (docs/slack.md)", err)
				return
			}
			a.setSlack("invalid_auth")
			a.log.Error("Slack refused the app-level token (SLACK_APP_TOKEN); trying again", "err", err, "in", wait)
		} else {
			a.setSlack("connecting")
			a.log.Warn("Socket Mode connection failed; trying again", "err", err, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, 5*time.Minute)
	}
}

func refusedAppToken(err error) bool {
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusNotFound {
		return true
	}
	return isAuthError(err)
}

// socketEvents reads what the connection delivers. It only diagnoses,
// queues and acknowledges: slow work never holds the reader back.
func (a *App) socketEvents(ctx context.Context, smc *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt, ok := <-smc.Events:
			if !ok {
				return
			}
			a.socketEvent(smc, evt)
		}
	}
}

func (a *App) socketEvent(smc *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		if a.slackCheck() != "invalid_auth" {
			a.setSlack("connecting")
		}
		if c, ok := evt.Data.(*slack.ConnectingEvent); ok {
			a.log.Debug("opening a Socket Mode connection", "attempt", c.Attempt, "connection", c.ConnectionCount+1)
		}
	case socketmode.EventTypeConnectionError:
		a.setSlack("connecting")
		if c, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("cannot open the Socket Mode connection; retrying", "attempt", c.Attempt, "in", c.Backoff, "err", c.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		a.setSlack("invalid_auth")
	case socketmode.EventTypeConnected:
		if a.connectedOnce.Swap(true) {
			a.metrics.Reconnect()
			a.log.Info("Socket Mode connection reopened")
		} else {
			a.log.Info("Socket Mode connected")
		}
		a.setSlack("ok")
	case socketmode.EventTypeHello:
		a.setSlack("ok")
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		// slack-go has parsed the payload (slackevents.ParseEvent, json into
		// slack.SlashCommand and slack.InteractionCallback).
		// An event refused at the bound is not acknowledged: Slack resends it.
		req := evt.Request
		if req == nil {
			return
		}
		size := int64(len(req.Payload))
		switch d := evt.Data.(type) {
		case slackevents.EventsAPIEvent:
			if a.stopping.Load() {
				return // not acknowledged: Slack sends it again, to a replica or the next process
			}
			var ack socketAck
			if a.onCallback(d, req.Payload, req.RetryAttempt, req.RetryReason, &ack) {
				a.ackJournaled(smc, req, &ack)
			}
		case slack.SlashCommand:
			if a.onSlashCommand(d, size) {
				a.ack(smc, req, nil)
			} else {
				a.ack(smc, req, busyResponse)
			}
		case slack.InteractionCallback:
			a.ack(smc, req, nil)
			a.onInteraction(d, size)
		default:
			a.ack(smc, req, nil)
		}
	case socketmode.EventTypeErrorBadMessage:
		a.onBadMessage(smc, evt.Data)
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		detail := socketErrorText(evt.Data)
		if strings.Contains(detail, "use of closed network connection") {
			// The connection Slack asked to refresh, closed under the reader: routine.
			a.log.Debug("Socket Mode connection closed", "type", string(evt.Type), "detail", detail)
			break
		}
		a.log.Warn("Socket Mode problem; the connection is opened again by itself (if it keeps failing, check the network to Slack and SLACK_APP_TOKEN)", "type", string(evt.Type), "detail", detail)
	}
}

// onBadMessage takes an envelope slack-go could not parse. One that holds
// an event is acknowledged all the same (Slack would only send it again)
// and read as HTTP mode reads it: a message with a file Slack describes
// unexpectedly is still answered (parseEvent).
func (a *App) onBadMessage(smc *socketmode.Client, data any) {
	bad, ok := data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var req socketmode.Request
	if json.Unmarshal(bad.Message, &req) != nil || req.EnvelopeID == "" {
		a.log.Warn("Socket Mode problem", "type", string(socketmode.EventTypeErrorBadMessage), "detail", bad.Cause.Error())
		return
	}
	if req.Type != socketmode.RequestTypeEventsAPI {
		a.ack(smc, &req, nil)
		a.log.Warn("unreadable Socket Mode envelope; acknowledged", "type", req.Type, "err", bad.Cause)
		return
	}
	if a.stopping.Load() {
		return // as socketEvent: Slack sends it again
	}
	var ack socketAck
	if a.onEvent(req.Payload, req.RetryAttempt, req.RetryReason, &ack) {
		a.ackJournaled(smc, &req, &ack)
	}
}

// ackJournaled acknowledges an event's envelope once its journal write
// ended (at once when there is none), without holding the reader.
func (a *App) ackJournaled(smc *socketmode.Client, req *socketmode.Request, ack *socketAck) {
	if ack.write == nil {
		a.ack(smc, req, nil)
		return
	}
	ackWritten := func() {
		<-ack.write.done // within socketAckBudget
		a.ack(smc, req, nil)
	}
	if !a.startBackground(ackWritten) { // shutdown waits for it before closing the connection
		ackWritten()
	}
}

// ack acknowledges an envelope at once, with no payload but busyResponse:
// answers go by message (an acknowledgement of 20 KB or more would be
// refused anyway).
func (a *App) ack(smc *socketmode.Client, req *socketmode.Request, payload any) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := smc.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		a.log.Warn("could not acknowledge a Socket Mode envelope", "envelope_id", req.EnvelopeID, "err", err)
	}
}

func socketErrorText(data any) string {
	switch d := data.(type) {
	case *socketmode.ErrorWriteFailed:
		return d.Cause.Error()
	case *slack.IncomingEventError:
		return d.Error()
	case error:
		return d.Error()
	}
	return fmt.Sprintf("%T", data)
}

// slogOutput passes slack-go's debug lines to slog at debug level (slack-go
// only writes them when its own debug option is on, which upgradebot leaves off:
// they would hold message texts).
type slogOutput struct{ log *slog.Logger }

func (s slogOutput) Output(_ int, msg string) error {
	s.log.Debug(strings.TrimSpace(msg), "from", "slack-go")
	return nil
}
