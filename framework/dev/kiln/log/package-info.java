/**
 * Training-run logging. In a run folder:
 * <ul>
 *   <li>{@code metrics.jsonl} ({@link dev.kiln.log.MetricsLog}): one JSON object per line, flushed per line;
 *       a resume trims lines past the checkpoint step.</li>
 *   <li>{@code events.out.tfevents.<unix-seconds>.<host>} ({@link dev.kiln.log.TensorBoardWriter}): scalars for
 *       TensorBoard, flushed per step batch; a resume writes a SessionLog START so stale steps are hidden.</li>
 *   <li>a loss PNG ({@link dev.kiln.log.LossPlot}), written atomically, typically at each eval and at the end.</li>
 * </ul>
 * {@link dev.kiln.log.Progress} is console-only; {@link dev.kiln.log.SystemStats} supplies memory, live-array
 * and MFU numbers for the metrics rows.
 */
package dev.kiln.log;
