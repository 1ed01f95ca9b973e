//! The RabbitMQ wire: one durable direct exchange, one durable queue per named pipeline,
//! persistent messages that carry only a job id, publisher confirms, manual acks.
//!
//! The broker distributes work; it is never the record of it. A message lost, duplicated or
//! redelivered costs nothing, because the worker claims the job in the ledger before working
//! and the sweeper republishes what the broker never confirmed.

use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer};
use uuid::Uuid;

use crate::error::QueueError;
use crate::model::JobMessage;

/// Priorities: idle-time jobs (`type=1`) yield to normal ones on the same pipeline.
const NORMAL_PRIORITY: u8 = 2;
const IDLE_PRIORITY: u8 = 0;
const MAX_PRIORITY: u8 = 2;

pub struct Queue {
    connection: Connection,
    publisher: Channel,
    prefix: String,
}

impl Queue {
    /// Connects and declares the exchange and the queues of `pipelines`.
    pub async fn connect(
        amqp_url: &str,
        prefix: &str,
        pipelines: &[String],
    ) -> Result<Queue, QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("ferrotype:{prefix}").into())
            .enable_auto_recover();
        let connection = Connection::connect(amqp_url, properties).await?;
        let publisher = connection.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let queue = Queue {
            connection,
            publisher,
            prefix: prefix.to_string(),
        };
        queue.declare(pipelines).await?;
        Ok(queue)
    }

    pub fn exchange_name(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    pub fn queue_name(&self, pipeline: &str) -> String {
        format!("{}.pipeline.{pipeline}", self.prefix)
    }

    /// Declares the queue of a pipeline created at run time (and the exchange, idempotently).
    pub async fn declare_pipeline(&self, pipeline: &str) -> Result<(), QueueError> {
        self.declare(&[pipeline.to_string()]).await
    }

    async fn declare(&self, pipelines: &[String]) -> Result<(), QueueError> {
        let durable_exchange = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        self.publisher
            .exchange_declare(
                self.exchange_name().into(),
                lapin::ExchangeKind::Direct,
                durable_exchange,
                FieldTable::default(),
            )
            .await?;
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-max-priority".into(),
            AMQPValue::ShortShortUInt(MAX_PRIORITY),
        );
        for pipeline in pipelines {
            let name = self.queue_name(pipeline);
            self.publisher
                .queue_declare(
                    name.clone().into(),
                    QueueDeclareOptions::durable(),
                    arguments.clone(),
                )
                .await?;
            self.publisher
                .queue_bind(
                    name.into(),
                    self.exchange_name().into(),
                    pipeline.clone().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    /// Publishes a job id and waits for the broker's confirm. `Ok` means the broker has the
    /// message persisted and routed to a queue; anything else leaves it to the sweeper.
    pub async fn publish(&self, id: Uuid, pipeline: &str, job_type: i16) -> Result<(), QueueError> {
        self.send(id, pipeline, job_type).await?.confirmed().await
    }

    /// Hands the job's message to the broker and returns at once; the broker's confirm is
    /// awaited through the answer. What a submit uses: its job is already in the ledger, so
    /// it answers without the broker's fsync, and a confirm that never comes is the sweeper's.
    pub async fn send(
        &self,
        id: Uuid,
        pipeline: &str,
        job_type: i16,
    ) -> Result<PendingConfirm, QueueError> {
        let payload = serde_json::to_vec(&JobMessage { job_id: id })
            .map_err(|_| QueueError::NotConfirmed(id))?;
        let priority = if job_type == 1 {
            IDLE_PRIORITY
        } else {
            NORMAL_PRIORITY
        };
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_priority(priority)
            .with_content_type("application/json".into())
            .with_message_id(id.to_string().into());
        let confirm = self
            .publisher
            .basic_publish(
                self.exchange_name().into(),
                pipeline.to_string().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &payload,
                properties,
            )
            .await?;
        Ok(PendingConfirm { id, confirm })
    }

    /// Opens a consumer per pipeline on a channel of its own, with `prefetch` unacknowledged
    /// deliveries at most: one per worker slot.
    pub async fn consume(
        &self,
        pipelines: &[String],
        prefetch: u16,
        tag: &str,
    ) -> Result<Vec<Consumer>, QueueError> {
        let channel = self.connection.create_channel().await?;
        // global=false: the limit applies per consumer; one channel-wide limit is what we
        // want across pipelines, which RabbitMQ gives with global=true.
        channel
            .basic_qos(prefetch, BasicQosOptions { global: true })
            .await?;
        let mut consumers = Vec::with_capacity(pipelines.len());
        for pipeline in pipelines {
            let consumer = channel
                .basic_consume(
                    self.queue_name(pipeline).into(),
                    format!("{tag}:{pipeline}").into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            consumers.push(consumer);
        }
        Ok(consumers)
    }

    /// Messages ready (not yet delivered) in `pipeline`'s queue, asked on a channel of its
    /// own: a passive declare of a missing queue closes its channel, never the publisher's.
    pub async fn depth(&self, pipeline: &str) -> Result<u32, QueueError> {
        let channel = self.connection.create_channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .queue_declare(
                self.queue_name(pipeline).into(),
                passive,
                FieldTable::default(),
            )
            .await;
        let _ = channel.close(200, "depth read".into()).await;
        Ok(declared?.message_count())
    }

    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }
}

/// A message handed to the broker whose confirm is still to come.
pub struct PendingConfirm {
    id: Uuid,
    confirm: lapin::PublisherConfirm,
}

impl PendingConfirm {
    /// Waits for the broker's confirm; an unroutable (returned) or refused message is
    /// `NotConfirmed`.
    pub async fn confirmed(self) -> Result<(), QueueError> {
        match self.confirm.await? {
            // A returned message was unroutable: no queue holds it.
            Confirmation::Ack(None) => Ok(()),
            _ => Err(QueueError::NotConfirmed(self.id)),
        }
    }
}
