//! The queues and topics: `analytics` and `reporting` with their own dead-letter queues, the
//! notification handler's failure destination, and the `alarms` and `notifications` topics,
//! all encrypted with the `sqs` key.

use super::{Builder, NOTIFICATION_FAILURES_QUEUE, WORK_QUEUES, id};
use crate::spec::{
    OutputRef, QueueSpec, RedriveSpec, ResourceGraph, ResourceKind, ResourceSpec, SpecBody,
    TopicSpec,
};

/// The topic every alarm notifies (ALARM and OK).
pub const ALARMS_TOPIC: &str = "alarms";
/// The topic the notification handler publishes to.
pub const NOTIFICATIONS_TOPIC: &str = "notifications";
/// A dead-letter queue's visibility timeout: nothing consumes it automatically.
const DLQ_VISIBILITY_TIMEOUT_SECONDS: u32 = 30;

/// The dead-letter queue of a work queue.
pub fn dlq_of(queue: &str) -> String {
    format!("{queue}-dlq")
}

/// Every queue whose messages are failures waiting for a human: the work queues' DLQs and
/// the notification handler's failure destination.
pub fn dead_letter_queues() -> Vec<String> {
    let mut queues: Vec<String> = WORK_QUEUES.iter().map(|q| dlq_of(q)).collect();
    queues.push(NOTIFICATION_FAILURES_QUEUE.to_owned());
    queues
}

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    for name in WORK_QUEUES {
        graph.add(dead_letter_queue(b, &dlq_of(name)));
        graph.add(work_queue(b, name));
    }
    graph.add(dead_letter_queue(b, NOTIFICATION_FAILURES_QUEUE));
    let email = Some(b.config.alarms.email.clone()).filter(|e| !e.is_empty());
    graph.add(topic(b, ALARMS_TOPIC, email));
    graph.add(topic(b, NOTIFICATIONS_TOPIC, None));
}

fn sqs_key() -> OutputRef {
    OutputRef::arn(&id(ResourceKind::KmsKey, "sqs"))
}

fn dead_letter_queue(b: &Builder<'_>, logical: &str) -> ResourceSpec {
    b.spec(
        ResourceKind::Queue,
        logical,
        SpecBody::Queue(QueueSpec {
            kms_key: sqs_key(),
            visibility_timeout_seconds: DLQ_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds: b.config.queues.dlq_retention_seconds,
            redrive: None,
        }),
    )
}

fn work_queue(b: &Builder<'_>, logical: &str) -> ResourceSpec {
    let queues = &b.config.queues;
    let dlq = id(ResourceKind::Queue, &dlq_of(logical));
    b.spec(
        ResourceKind::Queue,
        logical,
        SpecBody::Queue(QueueSpec {
            kms_key: sqs_key(),
            visibility_timeout_seconds: queues.visibility_timeout_seconds,
            message_retention_seconds: queues.message_retention_seconds,
            redrive: Some(RedriveSpec {
                dead_letter_queue: OutputRef::arn(&dlq),
                max_receive_count: queues.max_receive_count,
            }),
        }),
    )
}

fn topic(b: &Builder<'_>, logical: &str, email: Option<String>) -> ResourceSpec {
    b.spec(
        ResourceKind::Topic,
        logical,
        SpecBody::Topic(TopicSpec {
            kms_key: sqs_key(),
            email_subscription: email,
        }),
    )
}
