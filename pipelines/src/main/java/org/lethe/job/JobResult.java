package org.lethe.job;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a job returns: the JSON result its command prints, and the fingerprints of the model and
 * data it read, which its {@code runs} row records. Jobs' summary records implement it.
 */
public interface JobResult {

    /** The result as one JSON object (what the command prints on stdout). */
    ObjectNode toJson();

    /** SHA-256 of the model the job read or wrote, or null. */
    default String modelFingerprint() {
        return null;
    }

    /** The fingerprint of the data the job read, or null. */
    default String dataFingerprint() {
        return null;
    }

    /**
     * Whether the run stood aside, its work held by another run (a continual run that found the
     * lineage leased): such a result, returned by an up-to-date check, is not recorded at all.
     */
    default boolean stoodAside() {
        return false;
    }

    /** A result from its parts (for commands whose output combines several jobs' results). */
    static JobResult of(ObjectNode json, String modelFingerprint, String dataFingerprint) {
        return new JobResult() {
            @Override
            public ObjectNode toJson() {
                return json;
            }

            @Override
            public String modelFingerprint() {
                return modelFingerprint;
            }

            @Override
            public String dataFingerprint() {
                return dataFingerprint;
            }
        };
    }
}
