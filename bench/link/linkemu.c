/*
 * linkemu: a long link between two network namespaces, in user space.
 *
 * One responsibility: forward IP packets between a TUN device in namespace A and one in
 * namespace B, and in each direction apply what a real path applies: a bottleneck of a fixed
 * rate, a fixed one-way propagation delay, and a drop-tail queue in front of the bottleneck.
 * This kernel has no netem, and a TCP proxy would terminate the connections (hiding the RTT
 * from the endpoints' congestion control), so packets are carried as they are.
 *
 * Usage: linkemu NETNS_A DEV_A NETNS_B DEV_B RATE_BIT_PER_S ONE_WAY_DELAY_US QUEUE_BYTES
 *   NETNS_* are paths such as /var/run/netns/NAME; DEV_* are persistent TUN devices
 *   (ip tuntap add DEV mode tun) already in those namespaces. Prints "ready" on stdout once
 *   both devices are attached; on SIGTERM or SIGINT prints its counters as one JSON line on
 *   stdout and exits 0.
 *
 * The model, per direction: a packet read at time t finds the bottleneck busy until `busy`.
 * The bytes still waiting in front of it are (busy - t) * rate; if they plus the packet exceed
 * QUEUE_BYTES the packet is dropped (drop-tail). Otherwise it leaves the bottleneck at
 * busy' = max(t, busy) + len / rate and reaches the other side at busy' + delay. Departure
 * times are therefore monotonic per direction, so each direction is one FIFO ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SLOT_BYTES 2048 /* the devices' MTU is 1500: a packet always fits */
#define SLOTS 32768     /* per direction: far above (BDP + queue) / smallest packet here */

struct slot {
    uint64_t due_ns;
    uint32_t len;
    unsigned char data[SLOT_BYTES];
};

struct direction {
    const char *name;
    int in_fd, out_fd;
    struct slot *ring;
    uint32_t head, count;
    uint64_t busy_ns; /* when the bottleneck finishes the last accepted packet */
    uint64_t forwarded, dropped_queue, dropped_ring, bytes, max_backlog;
};

static volatile sig_atomic_t stop;
static double rate_bps;
static uint64_t delay_ns, queue_bytes;

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "linkemu: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Attach to the persistent TUN device `dev` inside the namespace at `ns_path`. */
static int open_tun(const char *ns_path, const char *dev) {
    int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) die(ns_path);
    if (setns(ns, CLONE_NEWNET) < 0) die("setns");
    close(ns);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) die("/dev/net/tun");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
    return fd;
}

/* Read every packet waiting on d->in_fd into d's ring (or drop it). */
static void take(struct direction *d) {
    for (;;) {
        struct slot *s = &d->ring[(d->head + d->count) % SLOTS];
        unsigned char spill[SLOT_BYTES];
        int full = d->count == SLOTS;
        ssize_t n = read(d->in_fd, full ? spill : s->data, SLOT_BYTES);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            die("read");
        }
        if (full) {
            d->dropped_ring++;
            continue;
        }
        uint64_t t = now_ns();
        uint64_t backlog = d->busy_ns > t ? (uint64_t)((d->busy_ns - t) * rate_bps / 8e9) : 0;
        if (backlog + (uint64_t)n > queue_bytes) {
            d->dropped_queue++;
            continue;
        }
        if (backlog > d->max_backlog) d->max_backlog = backlog;
        uint64_t start = d->busy_ns > t ? d->busy_ns : t;
        d->busy_ns = start + (uint64_t)((double)n * 8e9 / rate_bps);
        s->due_ns = d->busy_ns + delay_ns;
        s->len = (uint32_t)n;
        d->count++;
    }
}

/* Write out every packet whose time has come; return the next due time (0 if none). */
static uint64_t give(struct direction *d, uint64_t t) {
    while (d->count > 0) {
        struct slot *s = &d->ring[d->head];
        if (s->due_ns > t) return s->due_ns;
        ssize_t n = write(d->out_fd, s->data, s->len);
        /* A full device queue on the far side is a loss, as on a real link. */
        if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR) die("write");
        if (n == (ssize_t)s->len) {
            d->forwarded++;
            d->bytes += s->len;
        } else {
            d->dropped_ring++;
        }
        d->head = (d->head + 1) % SLOTS;
        d->count--;
    }
    return 0;
}

static void report(const struct direction *d, const char *sep) {
    printf("\"%s\": {\"forwarded\": %llu, \"bytes\": %llu, \"dropped_queue\": %llu, "
           "\"dropped_overflow\": %llu, \"max_backlog_bytes\": %llu}%s",
           d->name, (unsigned long long)d->forwarded, (unsigned long long)d->bytes,
           (unsigned long long)d->dropped_queue, (unsigned long long)d->dropped_ring,
           (unsigned long long)d->max_backlog, sep);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: linkemu NETNS_A DEV_A NETNS_B DEV_B RATE_BIT_PER_S "
                        "ONE_WAY_DELAY_US QUEUE_BYTES\n");
        return 2;
    }
    rate_bps = strtod(argv[5], NULL);
    delay_ns = strtoull(argv[6], NULL, 10) * 1000u;
    queue_bytes = strtoull(argv[7], NULL, 10);
    if (rate_bps <= 0 || queue_bytes < SLOT_BYTES) {
        fprintf(stderr, "linkemu: the rate must be positive and the queue at least %d bytes\n",
                SLOT_BYTES);
        return 2;
    }
    int fd_a = open_tun(argv[1], argv[2]);
    int fd_b = open_tun(argv[3], argv[4]);
    /* Sleep no longer than asked: the default 50 us slack would add jitter at 1 ms RTT. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    struct direction ab = {.name = "a_to_b", .in_fd = fd_a, .out_fd = fd_b};
    struct direction ba = {.name = "b_to_a", .in_fd = fd_b, .out_fd = fd_a};
    ab.ring = calloc(SLOTS, sizeof(struct slot));
    ba.ring = calloc(SLOTS, sizeof(struct slot));
    if (!ab.ring || !ba.ring) die("calloc");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);

    struct pollfd fds[2] = {{.fd = fd_a, .events = POLLIN}, {.fd = fd_b, .events = POLLIN}};
    while (!stop) {
        uint64_t t = now_ns();
        uint64_t next_ab = give(&ab, t), next_ba = give(&ba, t);
        uint64_t next = next_ab && next_ba ? (next_ab < next_ba ? next_ab : next_ba)
                                           : (next_ab ? next_ab : next_ba);
        struct timespec wait, *timeout = NULL;
        if (next) {
            uint64_t left = next > t ? next - t : 0;
            wait.tv_sec = (time_t)(left / 1000000000u);
            wait.tv_nsec = (long)(left % 1000000000u);
            timeout = &wait;
        }
        int ready = ppoll(fds, 2, timeout, NULL);
        if (ready < 0) {
            if (errno == EINTR) continue;
            die("ppoll");
        }
        if (fds[0].revents & POLLIN) take(&ab);
        if (fds[1].revents & POLLIN) take(&ba);
    }
    printf("{\"rate_bit_per_s\": %.0f, \"one_way_delay_us\": %llu, \"queue_bytes\": %llu, ",
           rate_bps, (unsigned long long)(delay_ns / 1000u), (unsigned long long)queue_bytes);
    report(&ab, ", ");
    report(&ba, "}\n");
    fflush(stdout);
    return 0;
}
