// Command ferry-resume-demo uploads one file to Ferry the way a resumable client must:
// create the task, send half the blocks, lose the stream in the middle of a block, ask the
// server what is missing, send the rest over two concurrent streams, then merge.
//
// Usage: go run . -server 127.0.0.1:50051 -block-size 65536 FILE STORE_PATH
//
// It prints one JSON object: the task id, the missing ranges after the cut, the verified
// SHA-256 and the final state. See docs/protocol.md for the rules it follows.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	ferryv1 "ferry.dev/api/ferry/v1"
	"google.golang.org/grpc"
)

// maxMessage is the protocol's limit on data per UploadPartsRequest.
const maxMessage = 1 << 20

// castagnoli is CRC32C, the checksum Ferry uses (hash/crc32's IEEE default is the wrong one).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type uploader struct {
	client    ferryv1.FerryServiceClient
	file      *os.File
	taskID    string
	size      uint64
	blockSize uint64
}

// blockBounds returns block i's [start, end): blocks are blockSize long except the last.
func (u *uploader) blockBounds(i uint32) (uint64, uint64) {
	start := uint64(i) * u.blockSize
	end := start + u.blockSize
	if end > u.size {
		end = u.size
	}
	return start, end
}

// sendBlock writes one block as messages of at most 1 MiB, offsets counted within the block,
// with the CRC32C of the whole block (continued message by message) on the last one. With
// cutAt > 0 it stops after cutAt bytes, leaving the block unfinished.
func (u *uploader) sendBlock(stream ferryv1.FerryService_UploadPartsClient, i uint32, cutAt uint64) error {
	start, end := u.blockBounds(i)
	if cutAt > 0 {
		end = start + cutAt
	}
	var crc uint32
	for offset := uint64(0); start+offset < end; {
		n := end - start - offset
		if n > maxMessage {
			n = maxMessage
		}
		data := make([]byte, n)
		if _, err := u.file.ReadAt(data, int64(start+offset)); err != nil && err != io.EOF {
			return err
		}
		crc = crc32.Update(crc, castagnoli, data)
		msg := &ferryv1.UploadPartsRequest{TaskId: u.taskID, BlockIndex: i, Offset: offset, Data: data}
		offset += n
		if start+offset == end && cutAt == 0 {
			msg.Crc32C = &crc
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

// sendBlocks streams blocks one after another without waiting for acknowledgements (a window
// of the whole list), then waits until each block is acknowledged as committed.
func (u *uploader) sendBlocks(ctx context.Context, blocks []uint32) error {
	stream, err := u.client.UploadParts(ctx)
	if err != nil {
		return err
	}
	acks := make(chan error, 1)
	go func() { acks <- u.awaitAcks(stream, len(blocks)) }()
	for _, i := range blocks {
		if err := u.sendBlock(stream, i, 0); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	return <-acks
}

func (u *uploader) awaitAcks(stream ferryv1.FerryService_UploadPartsClient, want int) error {
	for got := 0; got < want; got++ {
		ack, err := stream.Recv()
		if err != nil {
			return err
		}
		if ack.Status != ferryv1.BlockStatus_BLOCK_STATUS_COMMITTED {
			// A checksum mismatch means corruption in transit: a real client sends the block again.
			return fmt.Errorf("block %d: %v %s", ack.BlockIndex, ack.Status, ack.Message)
		}
	}
	return nil
}

// sendHalfThenCut commits blocks [0, half) and then cancels the stream halfway through
// block `half`, as a dropped connection would.
func (u *uploader) sendHalfThenCut(ctx context.Context, half uint32) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := make([]uint32, half)
	for i := range first {
		first[i] = uint32(i)
	}
	stream, err := u.client.UploadParts(ctx)
	if err != nil {
		return err
	}
	for _, i := range first {
		if err := u.sendBlock(stream, i, 0); err != nil {
			return err
		}
	}
	// Only acknowledged blocks are safe; wait for them before cutting the link.
	if err := u.awaitAcks(stream, len(first)); err != nil {
		return err
	}
	return u.sendBlock(stream, half, u.blockSize/2)
}

func (u *uploader) missingBlocks(ctx context.Context) ([]*ferryv1.BlockRange, []uint32, error) {
	// The answer comes in pages: follow NextPageToken until it is empty.
	var missing []*ferryv1.BlockRange
	token := ""
	for {
		reply, err := u.client.QueryMissingBlocks(ctx, &ferryv1.QueryMissingBlocksRequest{TaskId: u.taskID, PageToken: token})
		if err != nil {
			return nil, nil, err
		}
		missing = append(missing, reply.Missing...)
		token = reply.NextPageToken
		if token == "" {
			break
		}
	}
	var blocks []uint32
	for _, r := range missing {
		for i := r.Start; i < r.End; i++ {
			blocks = append(blocks, i)
		}
	}
	return missing, blocks, nil
}

func main() {
	server := flag.String("server", "127.0.0.1:50051", "Ferry server HOST:PORT")
	blockSize := flag.Uint("block-size", 0, "block size in bytes (0: the server's default)")
	flag.Parse()
	if flag.NArg() != 2 {
		log.Fatal("usage: ferry-resume-demo [-server HOST:PORT] [-block-size N] FILE STORE_PATH")
	}
	path, storePath := flag.Arg(0), flag.Arg(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	file, err := os.Open(path)
	check(err)
	defer file.Close()
	info, err := file.Stat()
	check(err)
	hash := sha256.New()
	_, err = io.Copy(hash, file)
	check(err)
	digest := hex.EncodeToString(hash.Sum(nil))

	conn, err := grpc.Dial(*server, grpc.WithInsecure())
	check(err)
	defer conn.Close()
	client := ferryv1.NewFerryServiceClient(conn)

	created, err := client.CreateTask(ctx, &ferryv1.CreateTaskRequest{
		FileName:  filepath.Base(path),
		Size:      uint64(info.Size()),
		Sha256:    digest,
		StorePath: storePath,
		BlockSize: uint32(*blockSize),
	})
	check(err)
	task := created.Task
	u := &uploader{client, file, task.TaskId, task.Size, uint64(task.BlockSize)}

	// 1. Half the blocks, then the stream is cut in the middle of the next block.
	check(u.sendHalfThenCut(ctx, task.BlockCount/2))
	// 2. After any failure, ask the server: only what it lacks is sent again.
	missing, blocks, err := u.missingBlocks(ctx)
	check(err)
	// 3. The rest over two concurrent streams, each taking every other block.
	var even, odd []uint32
	for n, i := range blocks {
		if n%2 == 0 {
			even = append(even, i)
		} else {
			odd = append(odd, i)
		}
	}
	done := make(chan error, 2)
	for _, share := range [][]uint32{even, odd} {
		go func(share []uint32) { done <- u.sendBlocks(ctx, share) }(share)
	}
	check(<-done)
	check(<-done)
	// 4. Merge verifies the whole file and publishes it.
	merged, err := client.Merge(ctx, &ferryv1.MergeRequest{TaskId: task.TaskId})
	check(err)

	ranges := [][2]uint32{}
	for _, r := range missing {
		ranges = append(ranges, [2]uint32{r.Start, r.End})
	}
	out, err := json.Marshal(map[string]any{
		"task_id":           merged.Task.TaskId,
		"missing_after_cut": ranges,
		"sha256":            merged.Task.Sha256,
		"state":             merged.Task.State.String(),
	})
	check(err)
	fmt.Println(string(out))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
