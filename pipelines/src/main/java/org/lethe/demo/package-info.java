/**
 * The {@code demo} job: the whole product on the fictitious-author benchmark in one Spark
 * application (generate, ingest, fine-tune target and retain-only models, stats, unlearn with each
 * preset method, evaluate, report), composed from the other jobs' typed requests.
 */
package org.lethe.demo;
