/**
 * The {@code lethe} command line (picocli): one thin command per job that loads the config,
 * builds the job's typed request and runs it through the library's job runner, and
 * {@link org.lethe.jobs.EmbeddedSpark}, the only place a Spark master is ever set.
 */
package org.lethe.jobs;
