/**
 * The {@code report} command: one self-contained HTML page with inline SVG charts (scales and
 * ticks, escaping, one colour per run) from {@code eval_summary}, {@code train_steps} and
 * {@code runs}.
 */
package org.lethe.report;
