package org.lethe.store;

import java.time.Instant;
import java.util.Objects;

/**
 * One row of the {@code runs} table: what one job of one run was given (config, code, model,
 * data) and how it ended, so that any row of any table can be traced and re-run.
 *
 * @param configJson the resolved config as JSON; {@code configSha256} is its fingerprint
 * @param numericsJson the numeric environment the job's driver computed in, as JSON (CPU
 *     capability, MKL branch, torch threads, libtorch version, CPU; every task was held to it), or
 *     null (rows written before it was recorded)
 * @param modelFingerprint SHA-256 of the model the job read, or null if it read none
 * @param dataFingerprint SHA-256 of the data the job read, or null if it read none
 * @param heartbeatAt when the job last said it was alive (its start, then every heartbeat of its
 *     runner); a RUNNING row whose heartbeat is old belongs to a job that was killed
 * @param endedAt null while {@link RunStatus#RUNNING}
 * @param error the failure's message, non-null exactly when {@link RunStatus#FAILED}
 */
public record RunRecord(
        String runId,
        String job,
        RunStatus status,
        String configJson,
        String configSha256,
        String codeVersion,
        String sparkAppId,
        String numericsJson,
        String modelFingerprint,
        String dataFingerprint,
        Instant startedAt,
        Instant heartbeatAt,
        Instant endedAt,
        String error) {

    public RunRecord {
        RunIds.validate(runId);
        RunIds.validate(job, "job name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(configJson, "configJson");
        Objects.requireNonNull(configSha256, "configSha256");
        Objects.requireNonNull(startedAt, "startedAt");
        if ((status == RunStatus.FAILED) != (error != null)) {
            throw new IllegalArgumentException("run " + runId + "/" + job + ": an error message goes with status FAILED only");
        }
        if ((status == RunStatus.RUNNING) != (endedAt == null)) {
            throw new IllegalArgumentException("run " + runId + "/" + job + ": ended_at is set exactly when the job has ended");
        }
    }

    /** A job that has just started (its first heartbeat is its start). */
    public static RunRecord started(String runId, String job, String configJson, String configSha256,
            String codeVersion, String sparkAppId, Instant startedAt) {
        return new RunRecord(runId, job, RunStatus.RUNNING, configJson, configSha256, codeVersion, sparkAppId,
                null, null, null, startedAt, startedAt, null, null);
    }

    /** This record with the numeric environment its job computed in. */
    public RunRecord withNumerics(String json) {
        return new RunRecord(runId, job, status, configJson, configSha256, codeVersion, sparkAppId, json,
                modelFingerprint, dataFingerprint, startedAt, heartbeatAt, endedAt, error);
    }

    /** This record with the fingerprints of the model and data the job read. */
    public RunRecord withFingerprints(String model, String data) {
        return new RunRecord(runId, job, status, configJson, configSha256, codeVersion, sparkAppId, numericsJson, model,
                data, startedAt, heartbeatAt, endedAt, error);
    }

    /** This running record with a later heartbeat. */
    public RunRecord beat(Instant at) {
        return new RunRecord(runId, job, status, configJson, configSha256, codeVersion, sparkAppId, numericsJson,
                modelFingerprint, dataFingerprint, startedAt, at, endedAt, error);
    }

    public RunRecord succeeded(Instant at) {
        return new RunRecord(runId, job, RunStatus.SUCCEEDED, configJson, configSha256, codeVersion, sparkAppId,
                numericsJson, modelFingerprint, dataFingerprint, startedAt, at, at, null);
    }

    public RunRecord failed(Instant at, String message) {
        return new RunRecord(runId, job, RunStatus.FAILED, configJson, configSha256, codeVersion, sparkAppId,
                numericsJson, modelFingerprint, dataFingerprint, startedAt, at, at, message == null ? "(no message)" : message);
    }
}
