package org.lethe.job;

import org.lethe.config.LetheConfig;

/**
 * A job's typed, validated request. It keeps the config it was built from for provenance only:
 * the {@code runs} row records that config's JSON and fingerprint, and checkpoints its
 * fingerprint, so a row can be traced and re-run. Jobs read the request's typed fields, never the
 * config (the architecture test holds them to it).
 */
public interface JobRequest {

    /** The resolved config this request was built from (provenance). */
    LetheConfig provenance();

    /** The fingerprint of {@link #provenance()}: what {@code runs} rows and checkpoints record. */
    default String configSha256() {
        return provenance().sha256();
    }
}
