/*
 * example-batch-job - a batch job that reports to a Pushgateway.
 *
 * It does some work, then pushes how long it took, when it last succeeded and
 * how many records it processed to the gateway, grouped by job and instance.
 * If the gateway refuses the push, the job says why and exits with status 1,
 * so a scheduler notices.
 *
 * Usage: example-batch-job [--gateway URL] [--job NAME] [--instance NAME] [--dry-run]
 *        (defaults: http://localhost:9091, example_batch_job, the host name);
 *        --dry-run prints what would be pushed instead of pushing it.
 */
#include <prom/prom.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The "work": count the primes below a bound. */
static unsigned long do_work(void)
{
    unsigned long n = 0;
    for (unsigned long i = 2; i < 200000; i++) {
        unsigned long d = 2;
        while (d * d <= i && i % d != 0)
            d++;
        n += d * d > i;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *gateway = "http://localhost:9091", *job = "example_batch_job";
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    const char *instance = host;
    bool dry_run = argc > 1 && strcmp(argv[argc - 1], "--dry-run") == 0;
    argc -= dry_run;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--gateway") == 0)
            gateway = argv[i + 1];
        else if (strcmp(argv[i], "--job") == 0)
            job = argv[i + 1];
        else if (strcmp(argv[i], "--instance") == 0)
            instance = argv[i + 1];
    }
    if (argc % 2 == 0) {
        fprintf(stderr, "usage: %s [--gateway URL] [--job NAME] [--instance NAME] [--dry-run]\n",
                argv[0]);
        return 2;
    }

    /* A registry of its own: only these metrics are pushed. */
    prom_registry *reg = prom_registry_new();
    prom_gauge *duration = prom_gauge_new(&(prom_opts){
        .name = "example_batch_job_duration_seconds",
        .help = "Duration of the last run of the batch job.",
        .registry = reg,
    });
    prom_gauge *last_success = prom_gauge_new(&(prom_opts){
        .name = "example_batch_job_last_success_timestamp_seconds",
        .help = "When the batch job last succeeded, in Unix seconds.",
        .registry = reg,
    });
    prom_gauge *records = prom_gauge_new(&(prom_opts){
        .name = "example_batch_job_records_processed",
        .help = "Records processed by the last run of the batch job.",
        .registry = reg,
    });
    if (duration == NULL || last_success == NULL || records == NULL) {
        fprintf(stderr, "creating metrics: %s\n", prom_last_error());
        return 1;
    }

    double start = now();
    prom_gauge_set(records, (double)do_work());
    prom_gauge_set(duration, now() - start);
    prom_gauge_set_to_current_time(last_success);

    if (dry_run) {
        prom_buffer out = {0};
        int rc = prom_render(reg, PROM_FORMAT_TEXT, NULL, 0, &out);
        if (rc == 0) fwrite(out.data, 1, out.len, stdout);
        prom_buffer_free(&out);
        prom_registry_free(reg);
        return rc == 0 ? 0 : 1;
    }

    prom_label grouping[] = {{"instance", instance}};
    prom_push_opts push = {
        .url = gateway,
        .job = job,
        .grouping = grouping,
        .n_grouping = 1,
        .registry = reg,
    };
    prom_push_result result;
    int rc = prom_push(&push, &result);
    prom_registry_free(reg);
    if (rc < 0) {
        fprintf(stderr, "push refused: %s\n", prom_last_error());
        return 1;
    }
    printf("pushed to %s (HTTP %ld)\n", gateway, result.http_status);
    return 0;
}
