// Peer: an SSE server in Go with Gin, shaped after the article the project started from (Gin handler,
// Flush after each write, a heartbeat comment on a ticker, server timeouts on http.Server), written
// for the bench's uniform interface: GET /events?topic=T, POST /publish, GET /healthz.
//
// Build: bash bench/peers/build-gin.sh   Run: bench/peers/gin/gin-peer --port 8004
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

// retryMs is the reconnection hint sent on every stream.
const retryMs = 3000

// queueLen is how many frames a client may have waiting; a client that falls further behind is
// dropped (a slow consumer), as a careful Go server does instead of blocking the publisher.
const queueLen = 1024

type client struct {
	frames chan []byte
	topics []string
}

type hub struct {
	mu     sync.Mutex
	topics map[string]map[*client]struct{}
	nextID uint64
}

func (h *hub) add(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range c.topics {
		set, ok := h.topics[t]
		if !ok {
			set = make(map[*client]struct{})
			h.topics[t] = set
		}
		set[c] = struct{}{}
	}
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range c.topics {
		delete(h.topics[t], c)
	}
}

// publish formats the frame once and queues the same bytes for every subscriber.
func (h *hub) publish(topics []string, data string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	id := strconv.FormatUint(h.nextID, 10)
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data), "\n")
	frame := []byte("id: " + id + "\ndata: " + strings.Join(lines, "\ndata: ") + "\n\n")
	sent := make(map[*client]struct{})
	for _, t := range topics {
		for c := range h.topics[t] {
			if _, done := sent[c]; done {
				continue
			}
			sent[c] = struct{}{}
			select {
			case c.frames <- frame:
			default:
				// Slow consumer: its handler sees the closed queue and ends the stream.
				close(c.frames)
				delete(h.topics[t], c)
			}
		}
	}
	return id
}

// streams counts the clients subscribed to any topic.
func (h *hub) streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[*client]struct{})
	for _, set := range h.topics {
		for c := range set {
			seen[c] = struct{}{}
		}
	}
	return len(seen)
}

// backedUp: any client whose queue holds more than backlogLimit bytes (frames waiting x frame size).
func (h *hub) backedUp(frameLen int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.topics {
		for c := range set {
			if len(c.frames)*frameLen > backlogLimit {
				return true
			}
		}
	}
	return false
}

// backlogLimit is bench/peers/turns.ts's BACKLOG_LIMIT: past it the flood waits 1 ms.
const backlogLimit = 64 * 1024

type turnSpec struct {
	Topic      string  `json:"topic"`
	Mode       string  `json:"mode"`
	Rate       float64 `json:"rate"`
	Count      float64 `json:"count"`
	DurationMs float64 `json:"durationMs"`
	Bytes      int     `json:"bytes"`
}

// runTurns is bench/peers/turns.ts's loop in Go (one publish, then a yield; tick sleeps until due,
// flood waits 1 ms while a client's queue is over backlogLimit). The payload is packages/lifeline-hub/src/loadtool/payload.ts's.
func (h *hub) runTurns(spec turnSpec) (int, int64) {
	padding := ""
	if spec.Bytes > 40 {
		padding = " " + strings.Repeat("x", spec.Bytes-40)
	}
	if spec.DurationMs <= 0 || spec.DurationMs > 120000 {
		spec.DurationMs = 10000
	}
	if spec.Count <= 0 {
		spec.Count = 1e18
	}
	start := time.Now()
	end := start.Add(time.Duration(spec.DurationMs * float64(time.Millisecond)))
	topics := []string{spec.Topic}
	seq := 0
	frameLen := 0
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		if spec.Mode == "tick" {
			if float64(seq) >= spec.Count {
				break
			}
			due := start.Add(time.Duration(float64(seq) * float64(time.Second) / spec.Rate))
			if now.Before(due) {
				time.Sleep(due.Sub(now))
				continue
			}
		} else if frameLen > 0 && h.backedUp(frameLen) {
			time.Sleep(time.Millisecond)
			continue
		}
		seq++
		sentAt := float64(time.Now().UnixNano()) / 1e6
		data := "lb1 " + strconv.Itoa(seq) + " " + strconv.FormatFloat(sentAt, 'f', 3, 64) + padding
		frameLen = len(data) + 16
		h.publish(topics, data)
		runtime.Gosched()
	}
	return seq, time.Since(start).Milliseconds()
}

type publishBody struct {
	Topic interface{} `json:"topic"`
	Data  interface{} `json:"data"`
}

func main() {
	port := flag.Int("port", 0, "port to listen on (0: any)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	heartbeatMs := flag.Int("heartbeat", 15000, "heartbeat comment interval in ms")
	flag.Parse()

	gin.SetMode(gin.ReleaseMode)
	h := &hub{topics: make(map[string]map[*client]struct{})}
	r := gin.New()

	r.GET("/events", func(c *gin.Context) {
		cl := &client{frames: make(chan []byte, queueLen), topics: c.QueryArray("topic")}
		c.Header("Content-Type", "text/event-stream; charset=utf-8")
		c.Header("Cache-Control", "no-cache")
		c.Header("X-Accel-Buffering", "no")
		c.Status(http.StatusOK)
		fmt.Fprintf(c.Writer, "retry: %d\n: ok\n\n", retryMs)
		c.Writer.Flush()
		h.add(cl)
		defer h.remove(cl)
		ticker := time.NewTicker(time.Duration(*heartbeatMs) * time.Millisecond)
		defer ticker.Stop()
		done := c.Request.Context().Done()
		for {
			select {
			case <-done:
				return
			case frame, ok := <-cl.frames:
				if !ok {
					return
				}
				if _, err := c.Writer.Write(frame); err != nil {
					return
				}
				c.Writer.Flush()
			case <-ticker.C:
				if _, err := c.Writer.Write([]byte(": ping\n\n")); err != nil {
					return
				}
				c.Writer.Flush()
			}
		}
	})

	r.POST("/publish", func(c *gin.Context) {
		var body publishBody
		if err := c.ShouldBindJSON(&body); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request"})
			return
		}
		var topics []string
		switch t := body.Topic.(type) {
		case string:
			topics = []string{t}
		case []interface{}:
			for _, v := range t {
				if s, ok := v.(string); ok {
					topics = append(topics, s)
				}
			}
		}
		data, isString := body.Data.(string)
		if !isString {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request"})
			return
		}
		if len(topics) == 0 {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request"})
			return
		}
		c.JSON(http.StatusCreated, gin.H{"id": h.publish(topics, data)})
	})

	r.POST("/bench/turns", func(c *gin.Context) {
		var spec turnSpec
		if err := c.ShouldBindJSON(&spec); err != nil || spec.Topic == "" || (spec.Mode != "tick" && spec.Mode != "flood") {
			c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request"})
			return
		}
		published, elapsed := h.runTurns(spec)
		c.JSON(http.StatusOK, gin.H{"published": published, "elapsedMs": elapsed})
	})

	r.GET("/bench/streams", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"streams": h.streams()}) })

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })

	// No WriteTimeout: as an absolute deadline it would end every long stream (the article's pitfall).
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", *host, *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		os.Exit(0)
	}()
	_ = srv.Serve(ln)
}
