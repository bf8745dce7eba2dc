// Package tensorboard owns TensorBoard event files written in pure Go:
// TFRecord framing (length, masked CRC32C of the length, the serialized
// Event, masked CRC32C of the data) around TensorFlow's Event and Summary
// protos, so TensorBoard shows a run's curves without TensorFlow in the
// process. It also reads such files back, verifying every CRC.
package tensorboard
