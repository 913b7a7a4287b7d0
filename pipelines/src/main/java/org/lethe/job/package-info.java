/**
 * The job layer every job shares: a job's typed request ({@link org.lethe.job.JobRequest},
 * derived ones built with a {@link org.lethe.job.RequestBuilder}), its result
 * ({@link org.lethe.job.JobResult}), and the {@link org.lethe.job.JobRunner} that records every
 * run, CLI-started or inner, in the {@code runs} table (RUNNING with heartbeats, then SUCCEEDED or
 * FAILED).
 */
package org.lethe.job;
